import Mustache from "mustache";

/** What a webhook body template may refer to. */
export interface SmsTemplateValues {
  readonly to: string;
  readonly text: string;
}

export interface JsonBodyTemplate {
  /** The request body: valid JSON, whatever the values contain. */
  render(values: SmsTemplateValues): string;
}

const placeholders: ReadonlySet<string> = new Set<keyof SmsTemplateValues>(["to", "text"]);

/**
 * Values land inside JSON string literals, so they are escaped as JSON string content instead of
 * HTML: a quote, backslash or newline in a message stays text and cannot end the string and add
 * fields. Mustache does not re-read what it substitutes, so `{{` in a message is text too.
 */
function jsonStringContent(value: unknown): string {
  return JSON.stringify(String(value)).slice(1, -1);
}

/** Exercises every character that would break out of a JSON string if a placeholder sat outside one. */
const probe: SmsTemplateValues = { to: '+15555550100"\\', text: 'probe "text" \\ \n {{to}} \u0000 \u2028' };

/**
 * Compiles a webhook body template such as `{"to":"{{to}}","message":"{{text}}"}`, refusing at
 * construction anything that could render invalid or injectable JSON: unparsable mustache, any tag
 * but `{{to}}` and `{{text}}` (no `{{{raw}}}`, sections, partials or delimiter changes), a
 * placeholder outside a JSON string, or a template missing either placeholder.
 */
export function compileJsonBodyTemplate(template: string): JsonBodyTemplate {
  let spans: Mustache.TemplateSpans;
  try {
    spans = Mustache.parse(template);
  } catch (error) {
    const detail = error instanceof Error ? error.message : "unknown";
    throw new Error(`bodyTemplate is not a valid mustache template: ${detail}`);
  }
  const seen = new Set<string>();
  for (const [type, name] of spans) {
    if (type === "text" || type === "!") continue;
    if (type !== "name") throw new Error(`bodyTemplate may only use {{to}} and {{text}}, found a '${type}' tag`);
    if (!placeholders.has(name)) throw new Error(`bodyTemplate may only use {{to}} and {{text}}, found {{${name}}}`);
    seen.add(name);
  }
  for (const name of placeholders) {
    if (!seen.has(name)) throw new Error(`bodyTemplate must use {{${name}}}`);
  }

  const render = (values: SmsTemplateValues): string =>
    Mustache.render(template, { to: values.to, text: values.text }, {}, { escape: jsonStringContent });

  let rendered: unknown;
  try {
    rendered = JSON.parse(render(probe));
  } catch {
    throw new Error("bodyTemplate must be JSON with {{to}} and {{text}} inside string literals");
  }
  if (!containsString(rendered, probe.text) || !containsString(rendered, probe.to)) {
    throw new Error("bodyTemplate must be JSON with {{to}} and {{text}} inside string literals");
  }
  return { render };
}

function containsString(value: unknown, wanted: string): boolean {
  if (typeof value === "string") return value.includes(wanted);
  if (Array.isArray(value)) return value.some((item) => containsString(item, wanted));
  if (typeof value === "object" && value !== null) {
    return Object.entries(value).some(([key, item]) => key.includes(wanted) || containsString(item, wanted));
  }
  return false;
}
