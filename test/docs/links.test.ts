import { readdir, readFile, stat } from "node:fs/promises";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

/**
 * The README and docs/ link to each other by file and heading: every relative link must name a
 * file that exists and, with a `#fragment`, a heading on it (GitHub's anchors: lower case, spaces
 * to dashes, punctuation dropped).
 */

const root = fileURLToPath(new URL("../../", import.meta.url));
const pages = ["README.md", "bench/README.md", ...(await readdir(join(root, "docs"))).filter((name) => name.endsWith(".md")).map((name) => `docs/${name}`)];

function withoutCode(markdown: string): string {
  return markdown.replace(/```[\s\S]*?```/g, "").replace(/`[^`\n]*`/g, "``");
}

function anchors(markdown: string): Set<string> {
  const found = new Set<string>();
  for (const [, heading] of markdown.replace(/```[\s\S]*?```/g, "").matchAll(/^#{1,6} (.*)$/gm)) {
    found.add(
      heading!
        .toLowerCase()
        .replace(/[^\p{L}\p{N} _-]/gu, "")
        .replace(/ /g, "-"),
    );
  }
  return found;
}

describe("links between the README and docs/", () => {
  it.each(pages)("every relative link of %s resolves", async (page) => {
    const text = await readFile(join(root, page), "utf8");
    const broken: string[] = [];
    for (const [, target] of withoutCode(text).matchAll(/\]\(([^)\s]+)\)/g)) {
      if (/^[a-z]+:/.test(target!)) continue;
      const [path, fragment] = target!.split("#") as [string, string | undefined];
      const file = path === "" ? join(root, page) : join(root, dirname(page), path);
      const exists = await stat(file).then(
        () => true,
        () => false,
      );
      if (!exists) broken.push(`${target}: no file ${relative(root, file)}`);
      else if (fragment !== undefined && !anchors(await readFile(file, "utf8")).has(fragment)) broken.push(`${target}: no heading #${fragment}`);
    }
    expect(broken).toEqual([]);
  });
});
