import type { TemplatePart } from "./kinds.js";
import { PREVIEW_PARTS } from "./kinds.js";
import { parseTemplate, positionOf } from "./mustacheEngine.js";
import { TemplateLoadError } from "./templateLoadError.js";

/** A template that passed every check, with what it refers to. */
export interface CheckedTemplate {
  readonly template: string;
  /** Where it came from, for errors: a file path or `builtin:<locale>/<kind>/<part>`. */
  readonly source: string;
  /** The variables it mentions (in `{{x}}`, `{{{x}}}` or sections). */
  readonly variables: ReadonlySet<string>;
}

export interface TemplateRules {
  readonly part: TemplatePart;
  /** The names it may use; anything else is refused. */
  readonly variables: readonly string[];
}

/** Variables that must never appear where a message is previewed before it is opened. */
const SECRET_VARIABLES: ReadonlySet<string> = new Set(["code", "link"]);

/**
 * Checks one template before it is ever used: valid mustache, known variables only, no partials,
 * nothing unescaped in HTML, no secret in a subject or push title, subjects and titles on one line.
 * Throws a {@link TemplateLoadError} naming `source`.
 */
export function checkTemplate(template: string, rules: TemplateRules, source: string): CheckedTemplate {
  const fail = (problem: string): never => {
    throw new TemplateLoadError(source, problem);
  };
  if (template.trim() === "") fail("the template is empty");
  if (PREVIEW_PARTS.has(rules.part) && /[\r\n]/.test(template)) fail(`a ${rules.part} must be a single line`);

  let spans: ReturnType<typeof parseTemplate>;
  try {
    spans = parseTemplate(template);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const offset = /\bat (\d+)$/.exec(message)?.[1];
    const where = offset === undefined ? "" : ` (${positionOf(template, Number(offset))})`;
    return fail(`invalid mustache syntax: ${message}${where}`);
  }

  const known = new Set(rules.variables);
  const variables = new Set<string>();
  const visit = (tokens: ReturnType<typeof parseTemplate>, inSection: boolean): void => {
    for (const token of tokens) {
      const [type, name, start] = token;
      const at = positionOf(template, start);
      if (type === "text" || type === "!" || type === "=") continue;
      if (type === ">") fail(`partials ({{> ${name}}}) are not supported (${at})`);
      if (type === "&" && rules.part === "html") {
        fail(`{{{${name}}}} and {{& ${name}}} skip HTML escaping and are refused in HTML templates; use {{${name}}} (${at})`);
      }
      // Inside a section, `{{.}}` is the section's own value (a string or a number).
      if (!(name === "." && inSection && type !== "#" && type !== "^")) {
        if (!known.has(name)) {
          fail(`unknown variable "${name}" (${at}); this template may use ${rules.variables.join(", ")}`);
        }
        if (PREVIEW_PARTS.has(rules.part) && SECRET_VARIABLES.has(name)) {
          fail(`a ${rules.part} must not show {{${name}}}: it appears in inbox previews and on lock screens (${at})`);
        }
        variables.add(name);
      }
      if (type === "#" || type === "^") {
        const children = token[4];
        if (Array.isArray(children)) visit(children, true);
      }
    }
  };
  visit(spans, false);
  return { template, source, variables };
}
