import Mustache from "mustache";

/**
 * One private mustache writer with fixed delimiters: no global setting (`Mustache.tags`,
 * `Mustache.escape`) made elsewhere in the process can change how onetime's templates parse or
 * escape. Its cache holds parsed templates, and only ever the bounded set that loaded at start.
 */
const writer = new Mustache.Writer();
const TAGS: Mustache.OpeningAndClosingTags = ["{{", "}}"];

/** Values a template can show: strings and numbers only, no lambdas, no objects. */
export type TemplateValues = Readonly<Record<string, string | number | undefined>>;

/** Parses a template; throws mustache's own error (with the offset) on bad syntax. */
export function parseTemplate(template: string): Mustache.TemplateSpans {
  const spans: Mustache.TemplateSpans = writer.parse(template, TAGS);
  return spans;
}

export function renderTemplate(template: string, values: TemplateValues, escape: (value: unknown) => string): string {
  return writer.render(template, values, undefined, { tags: TAGS, escape });
}

/** `line 2, column 7` for an offset in a template, to point an operator at the problem. */
export function positionOf(template: string, offset: number): string {
  const before = template.slice(0, offset);
  const line = before.split("\n").length;
  const column = offset - before.lastIndexOf("\n");
  return `line ${line}, column ${column}`;
}
