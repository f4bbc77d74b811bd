/**
 * Reads the YAML the deploy/ files are written in, for the tests (no YAML library is a dependency):
 * block mappings and sequences, plain and quoted scalars, `|` and `>` block scalars, one-line flow
 * sequences of scalars, `{}` and `[]`. Scalars stay strings. Anything else YAML allows (anchors,
 * tags, flow mappings, multi-line plain scalars, a plain scalar holding ": ") is refused with its
 * line, so a file this reads is read the same way by Prometheus, Grafana and Compose.
 */
export function parseYamlSubset(source: string): unknown {
  return new YamlReader(source.split("\n")).document();
}

type Value = string | Value[] | { [key: string]: Value } | null;

interface Line {
  readonly indent: number;
  readonly text: string;
}

class YamlReader {
  private next = 0;

  constructor(private readonly lines: string[]) {}

  document(): Value {
    const value = this.node(0);
    const left = this.peek();
    if (left !== undefined) this.fail(`unexpected "${left.text}"`);
    return value;
  }

  private node(minIndent: number): Value {
    const line = this.peek();
    if (line === undefined || line.indent < minIndent) return null;
    return isItem(line.text) ? this.sequence(line.indent) : this.mapping(line.indent);
  }

  private sequence(indent: number): Value[] {
    const items: Value[] = [];
    for (let line = this.peek(); line !== undefined && line.indent === indent && isItem(line.text); line = this.peek()) {
      const rest = line.text.slice(1).trimStart();
      if (rest === "") {
        this.next++;
        items.push(this.node(indent + 1));
      } else if (entry(rest) !== undefined) {
        // "- key: value" opens a mapping whose keys line up with "key".
        this.lines[this.next] = " ".repeat(indent + line.text.length - rest.length) + rest;
        items.push(this.mapping(indent + line.text.length - rest.length));
      } else {
        this.next++;
        items.push(this.scalar(rest, indent));
      }
    }
    this.expectDedent(indent);
    return items;
  }

  private mapping(indent: number): { [key: string]: Value } {
    const map: { [key: string]: Value } = {};
    for (let line = this.peek(); line !== undefined && line.indent === indent && !isItem(line.text); line = this.peek()) {
      const pair = entry(line.text);
      if (pair === undefined) this.fail(`expected "key: value", got "${line.text}"`);
      if (Object.hasOwn(map, pair.key)) this.fail(`duplicate key "${pair.key}"`);
      this.next++;
      if (pair.rest !== "") {
        map[pair.key] = this.scalar(pair.rest, indent);
        continue;
      }
      const below = this.peek();
      // A sequence may sit at its key's own indentation.
      map[pair.key] = below !== undefined && below.indent === indent && isItem(below.text) ? this.sequence(indent) : this.node(indent + 1);
    }
    this.expectDedent(indent);
    return map;
  }

  /** A value on the line already consumed (the line before `this.next`), or a block scalar below it. */
  private scalar(text: string, parentIndent: number): Value {
    const block = /^([|>])([-+]?)$/.exec(text);
    if (block !== null) return this.blockScalar(block[1] === ">", block[2] === "" ? "clip" : block[2] === "-" ? "strip" : "keep", parentIndent);
    if (text.startsWith('"')) {
      const end = quotedEnd(text, '"');
      return JSON.parse(this.onlyComment(text, end)) as string;
    }
    if (text.startsWith("'")) {
      const end = quotedEnd(text, "'");
      return this.onlyComment(text, end).slice(1, -1).replaceAll("''", "'");
    }
    const plain = text.replace(/\s+#.*$/, "").trimEnd();
    if (plain === "[]") return [];
    if (plain === "{}") return {};
    if (plain.startsWith("[") && plain.endsWith("]")) {
      return plain
        .slice(1, -1)
        .split(",")
        .map((item) => item.trim())
        .map((item) => (item.startsWith('"') ? (JSON.parse(item) as string) : this.plain(item)));
    }
    return this.plain(plain);
  }

  private plain(text: string): string {
    if (/^[[\]{}&*!%@`|>]/.test(text) || text.includes(": ") || text.endsWith(":")) this.fail(`"${text}" is not a plain scalar this reader takes: quote it`);
    return text;
  }

  private blockScalar(folded: boolean, chomping: "clip" | "strip" | "keep", parentIndent: number): string {
    const body: string[] = [];
    let indent: number | undefined;
    while (this.next < this.lines.length) {
      const raw = this.lines[this.next]!;
      const lineIndent = raw.length - raw.trimStart().length;
      if (raw.trim() === "") {
        body.push("");
      } else {
        if (lineIndent <= parentIndent || (indent !== undefined && lineIndent < indent)) break;
        indent ??= lineIndent;
        body.push(raw.slice(indent));
      }
      this.next++;
    }
    // Trailing blank lines belong to what follows, unless kept.
    let trailing = 0;
    while (body.length > 0 && body.at(-1) === "") {
      body.pop();
      trailing++;
    }
    let text = body[0] ?? "";
    for (let i = 1; i < body.length; i++) {
      // Folded: lines of a paragraph join with a space, a blank line becomes a line break.
      if (!folded) text += `\n${body[i]}`;
      else if (body[i] === "") text += "\n";
      else text += body[i - 1] === "" ? body[i] : ` ${body[i]}`;
    }
    return chomping === "strip" ? text : chomping === "clip" ? `${text}\n` : `${text}\n${"\n".repeat(trailing)}`;
  }

  private onlyComment(text: string, end: number): string {
    if (!/^\s*(#.*)?$/.test(text.slice(end + 1))) this.fail(`text after a quoted scalar: "${text}"`);
    return text.slice(0, end + 1);
  }

  /** The next line that is neither blank nor only a comment, without consuming it. */
  private peek(): Line | undefined {
    while (this.next < this.lines.length) {
      const raw = this.lines[this.next]!;
      const text = raw.trim();
      if (text !== "" && !text.startsWith("#")) {
        if (raw.startsWith("\t")) this.fail("a tab in indentation");
        return { indent: raw.length - raw.trimStart().length, text };
      }
      this.next++;
    }
    return undefined;
  }

  private expectDedent(indent: number): void {
    const line = this.peek();
    if (line !== undefined && line.indent > indent) this.fail(`unexpected indentation of "${line.text}"`);
  }

  private fail(message: string): never {
    throw new Error(`YAML line ${this.next + 1}: ${message}`);
  }
}

function isItem(text: string): boolean {
  return text === "-" || text.startsWith("- ");
}

function entry(text: string): { key: string; rest: string } | undefined {
  const match = /^([A-Za-z0-9_./-]+|"[^"]*"|'[^']*'):(?:\s+(.*))?$/.exec(text);
  if (match === null) return undefined;
  const key = match[1]!;
  return { key: /^["']/.test(key) ? key.slice(1, -1) : key, rest: (match[2] ?? "").trim() };
}

/** Where the quoted scalar opening `text` closes. */
function quotedEnd(text: string, quote: '"' | "'"): number {
  for (let i = 1; i < text.length; i++) {
    if (quote === '"' && text[i] === "\\") i++;
    else if (text[i] === quote) {
      if (quote === "'" && text[i + 1] === "'") i++;
      else return i;
    }
  }
  throw new Error(`YAML: unterminated quoted scalar ${text}`);
}
