import { readdir, readFile, stat } from "node:fs/promises";
import { join, resolve } from "node:path";
import { MESSAGE_TEMPLATE_KINDS } from "../../domain/messages/messageTemplates.js";
import type { TemplatePart } from "./kinds.js";
import { isMessageTemplateKind, partsOf, templateKey, variablesOf } from "./kinds.js";
import { canonicalLocale } from "./localeChain.js";
import type { CheckedTemplate } from "./templateCheck.js";
import { checkTemplate } from "./templateCheck.js";
import { TemplateLoadError } from "./templateLoadError.js";

const TEMPLATE_EXTENSION = ".mustache";

/** Templates an operator put in `TEMPLATES_DIR`, all checked. */
export interface TemplateOverrides {
  /** The directory they came from, absolute. */
  readonly dir: string;
  /** The locales with at least one override, canonical tags, sorted. */
  readonly locales: readonly string[];
  /** By {@link templateKey}. */
  readonly templates: ReadonlyMap<string, CheckedTemplate>;
}

/**
 * Loads `<dir>/<locale>/<kind>/<part>.mustache` (part: subject, text, html, sms, push-title,
 * push-body) and checks every file as it loads. Anything else in the tree is refused, except
 * dot-entries (`.gitkeep`, a Kubernetes volume's `..data`). Symlinks are followed.
 *
 * Rejects with one {@link TemplateLoadError} naming the first file at fault.
 */
export async function loadTemplateOverrides(dir: string): Promise<TemplateOverrides> {
  const root = resolve(dir);
  const templates = new Map<string, CheckedTemplate>();
  const locales: string[] = [];

  for (const localeName of await directoryEntries(root)) {
    const localeDir = join(root, localeName);
    await expectDirectory(localeDir, "a locale directory such as en or pt-BR");
    const locale = canonicalLocale(localeName);
    if (locale === undefined) throw new TemplateLoadError(localeDir, `"${localeName}" is not a BCP 47 locale tag (en, pt-BR)`);
    if (locale !== localeName) throw new TemplateLoadError(localeDir, `write the locale as "${locale}"`);
    locales.push(locale);

    for (const kindName of await directoryEntries(localeDir)) {
      const kindDir = join(localeDir, kindName);
      await expectDirectory(kindDir, "a message kind directory");
      if (!isMessageTemplateKind(kindName)) {
        throw new TemplateLoadError(kindDir, `unknown message kind "${kindName}"; known: ${MESSAGE_TEMPLATE_KINDS.join(", ")}`);
      }
      const parts = partsOf(kindName);

      for (const fileName of await directoryEntries(kindDir)) {
        const file = join(kindDir, fileName);
        const expected = `one of ${parts.map((part) => part + TEMPLATE_EXTENSION).join(", ")} for ${kindName}`;
        const part = parts.find((candidate) => fileName === candidate + TEMPLATE_EXTENSION);
        if (part === undefined) throw new TemplateLoadError(file, `unknown template file; expected ${expected}`);
        if (!(await stat(file)).isFile()) throw new TemplateLoadError(file, "expected a file");
        const template = normalise(await readText(file), part);
        templates.set(templateKey(locale, kindName, part), checkTemplate(template, { part, variables: variablesOf(kindName) }, file));
      }
    }
  }
  return { dir: root, locales: locales.sort(), templates };
}

/** A directory's entries, sorted so the first error is always the same one; dot-entries skipped. */
async function directoryEntries(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).filter((name) => !name.startsWith(".")).sort();
  } catch (error) {
    throw new TemplateLoadError(dir, `cannot read the directory: ${describe(error)}`);
  }
}

async function expectDirectory(path: string, what: string): Promise<void> {
  const stats = await stat(path).catch((error: unknown) => {
    throw new TemplateLoadError(path, `cannot read: ${describe(error)}`);
  });
  if (!stats.isDirectory()) throw new TemplateLoadError(path, `expected ${what}, found a file`);
}

async function readText(file: string): Promise<string> {
  try {
    return await readFile(file, "utf8");
  } catch (error) {
    throw new TemplateLoadError(file, `cannot read the file: ${describe(error)}`);
  }
}

/**
 * Editors end files with a newline and some save a BOM or CRLF: none of that is content. Trailing
 * whitespace goes from every part, so a subject stays one line and an SMS stays short.
 */
function normalise(content: string, part: TemplatePart): string {
  const text = content.replace(/^\uFEFF/, "").replaceAll("\r\n", "\n").trimEnd();
  return part === "subject" || part === "push-title" ? text.trimStart() : text;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
