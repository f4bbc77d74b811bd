/**
 * Reads the runnable examples out of the README and docs/: fenced `sh` blocks that call the server
 * (`buf curl` or `curl`), split into commands with the comments that follow each, and the answer
 * shapes those comments show after `# ->`. Kept apart from the test so that what counts as an
 * example, and what an answer is checked against, can be read in one place.
 */

export interface DocCommand {
  /** The command as a reader pastes it, continuation lines joined. */
  readonly text: string;
  /** The comment lines after it, up to the next command, without their `#`. */
  readonly notes: readonly string[];
}

export interface DocBlock {
  readonly file: string;
  /** 1-based line of the opening fence. */
  readonly line: number;
  readonly commands: readonly DocCommand[];
}

const callsServer = /\bcurl\b/;
/** A line that only sets a reader's shell up for the calls after it: `S=…`, `USER_TOKEN=$(npx onetime token …)`. */
const setsUp = /^[A-Z][A-Z0-9_]*=\S.*$/;

/** Every fenced `sh` block of a page that calls the server, or sets a shell up for one, in page order. */
export function serverBlocks(file: string, markdown: string): DocBlock[] {
  const lines = markdown.split("\n");
  const blocks: DocBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (lines[i]!.trim() !== "```sh") continue;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && !lines[i]!.startsWith("```"); i++) body.push(lines[i]!);
    const commands = commandsOf(body);
    if (commands.some((command) => callsServer.test(command.text)) || (commands.length > 0 && commands.every((command) => setsUp.test(command.text)))) {
      blocks.push({ file, line: start + 1, commands });
    }
  }
  return blocks;
}

function commandsOf(body: readonly string[]): DocCommand[] {
  const logical: string[] = [];
  for (let i = 0; i < body.length; i++) {
    let line = body[i]!;
    while (line.endsWith("\\") && i + 1 < body.length) line = `${line.slice(0, -1)} ${body[++i]!.trim()}`;
    if (line.trim() !== "") logical.push(line);
  }
  const commands: { text: string; notes: string[] }[] = [];
  for (const line of logical) {
    const trimmed = line.trimStart();
    if (trimmed.startsWith("#")) commands.at(-1)?.notes.push(trimmed.replace(/^# ?/, ""));
    else commands.push({ text: line.trim(), notes: [] });
  }
  return commands;
}

/**
 * The answer a command's notes show: a `-> {…}` note (its JSON may run on over the next note
 * lines), or notes that open with a JSON object spread over several lines.
 */
export function shownAnswer(notes: readonly string[]): unknown {
  const arrow = notes.findIndex((note) => note.startsWith("-> {"));
  if (arrow >= 0) return lenientJson(firstJsonText(notes.slice(arrow).join("\n").slice(3)));
  if (notes[0]?.trim() === "{") return lenientJson(firstJsonText(notes.join("\n")));
  return undefined;
}

/** The first balanced `{…}` of a text, quotes respected. */
export function firstJsonText(text: string): string {
  const values = jsonTexts(text);
  if (values.length === 0) throw new Error(`no JSON object in ${JSON.stringify(text)}`);
  return values[0]!;
}

/** Every balanced top-level `{…}` of a text, in order: buf curl prints a stream's messages one after another. */
export function jsonTexts(text: string): string[] {
  const found: string[] = [];
  let depth = 0;
  let start = -1;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === "\\") i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = depth > 0;
    else if (c === "{") {
      if (depth++ === 0) start = i;
    } else if (c === "}" && depth > 0 && --depth === 0) found.push(text.slice(start, i + 1));
  }
  return found;
}

/**
 * The pages elide with `…`: a value left out (`"expireTime":…`), members left out (`,…}`). Elided
 * values read as null, which the shape check takes as "present, any value".
 */
export function lenientJson(text: string): unknown {
  const cleaned = text
    .replace(/\n\s*/g, " ")
    .replace(/,\s*…\s*(?=[}\]])/g, "")
    .replace(/:\s*…/g, ": null");
  return JSON.parse(cleaned);
}

/** A value the server makes anew each time (ids, tokens, times, codes), or one the page cut short. */
export function madeFresh(value: string): boolean {
  if (/^[A-Z][A-Z0-9_]*$/.test(value)) return false; // an enum name
  return (
    value.endsWith("…") ||
    /^[0-9a-f]{8}-[0-9a-f]{4}-/.test(value) ||
    /^\d{4}-\d\d-\d\dT/.test(value) ||
    /^[A-Za-z0-9_-]{20,}$/.test(value)
  );
}

/**
 * Checks `actual` has every key `shown` has, recursively (the first element of a shown array
 * against the first of the actual one), and the same scalar wherever the page's value is not one
 * the server makes anew. Returns what is wrong, and collects page value -> real value for the
 * fresh ones, so later commands can use what this one answered.
 */
export function compareShape(shown: unknown, actual: unknown, fresh: Map<string, string>, path = "$"): string[] {
  if (shown === null) return actual === undefined ? [`${path}: missing`] : [];
  if (Array.isArray(shown)) {
    if (!Array.isArray(actual)) return [`${path}: not an array`];
    if (shown.length === 0) return [];
    if (actual.length === 0) return [`${path}: empty`];
    return compareShape(shown[0], actual[0], fresh, `${path}[0]`);
  }
  if (typeof shown === "object") {
    if (typeof actual !== "object" || actual === null || Array.isArray(actual)) return [`${path}: not an object`];
    return Object.entries(shown as Record<string, unknown>).flatMap(([key, value]) =>
      key in actual ? compareShape(value, (actual as Record<string, unknown>)[key], fresh, `${path}.${key}`) : [`${path}.${key}: missing`],
    );
  }
  if (typeof shown === "string" && madeFresh(shown)) {
    if (typeof actual !== "string") return [`${path}: not a string`];
    if (!shown.endsWith("…")) fresh.set(shown, actual);
    return [];
  }
  return shown === actual ? [] : [`${path}: ${JSON.stringify(actual)}, the page shows ${JSON.stringify(shown)}`];
}

/** A Connect or buf curl error body: what a command that the page shows succeeding must not print. */
export function isErrorAnswer(value: unknown): boolean {
  return typeof value === "object" && value !== null && typeof (value as { code?: unknown }).code === "string" && "message" in value;
}
