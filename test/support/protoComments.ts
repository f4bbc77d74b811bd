import { readFileSync } from "node:fs";

/** Each RPC's leading comment in proto/onetime/v1/<file>, by RPC name, one string per comment line. */
export function rpcComments(file: string): Map<string, string[]> {
  const lines = readFileSync(new URL(`../../proto/onetime/v1/${file}`, import.meta.url), "utf8").split("\n");
  const comments = new Map<string, string[]>();
  lines.forEach((line, index) => {
    const rpc = /^\s*rpc (\w+)\(/.exec(line)?.[1];
    if (rpc === undefined) return;
    const comment: string[] = [];
    for (let above = index - 1; above >= 0 && /^\s*\/\//.test(lines[above] ?? ""); above--) comment.unshift((lines[above] ?? "").replace(/^\s*\/\/\s?/, ""));
    comments.set(rpc, comment);
  });
  return comments;
}

/**
 * The paragraph of a comment that starts with `label` ("Callers:", "Errors:"), running on over
 * the next lines until a blank one or the next label; undefined when there is none.
 */
export function labelled(comment: readonly string[], label: string): string | undefined {
  const start = comment.findIndex((text) => text.startsWith(label));
  if (start === -1) return undefined;
  const paragraph = [(comment[start] ?? "").slice(label.length)];
  for (const text of comment.slice(start + 1)) {
    if (text.trim() === "" || /^[A-Z][a-z]+:/.test(text)) break;
    paragraph.push(text);
  }
  return paragraph.join(" ");
}
