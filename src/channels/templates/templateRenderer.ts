import type { MessageKind } from "../../domain/messages/outboundMessage.js";
import { prependHtmlBlock, prependTextBlock, showsAntiPhishingCode } from "./antiPhishingBlock.js";
import { BUILTIN_LOCALES } from "./builtin/index.js";
import type { CheckedBlock } from "./checkedBuiltins.js";
import { checkAntiPhishingBlocks, checkBuiltins } from "./checkedBuiltins.js";
import { asText, escapeHtml } from "../../domain/messages/htmlEscape.js";
import {
  KIND_CHANNELS,
  MESSAGE_TEMPLATE_KINDS,
  type ChannelParts,
  type MessageTemplateKind,
  type TemplateChannelOf,
  type TemplateRenderer,
  type TemplateView,
} from "../../domain/messages/messageTemplates.js";
import type { TemplatePart } from "./kinds.js";
import { CHANNEL_PARTS, TEMPLATE_PARTS, partsOf, templateKey } from "./kinds.js";
import { canonicalLocale, localeChain } from "./localeChain.js";
import type { TemplateValues } from "./mustacheEngine.js";
import { renderTemplate } from "./mustacheEngine.js";
import type { CheckedTemplate } from "./templateCheck.js";
import { loadTemplateOverrides } from "./templateOverrides.js";

export interface TemplateRendererOptions {
  /** Used when neither the requested locale nor its language has a template. Default `en`. */
  readonly fallbackLocale?: string;
  /** `TEMPLATES_DIR`: overrides as `<dir>/<locale>/<kind>/<part>.mustache`. Default: none, built-ins only. */
  readonly overridesDir?: string | undefined;
  /** Shown as `{{productName}}`, e.g. `Acme`. */
  readonly productName: string;
}

/**
 * Builds the renderer at start: loads and checks overrides (if any) and every built-in template,
 * and makes sure the fallback locale has every part. Rejects with a TemplateLoadError naming
 * the file at fault, or a RangeError for a fallback locale that cannot serve every message.
 */
export async function createTemplateRenderer(options: TemplateRendererOptions): Promise<TemplateRenderer> {
  const fallbackLocale = canonicalLocale(options.fallbackLocale ?? "en");
  if (fallbackLocale === undefined) throw new RangeError(`fallbackLocale "${options.fallbackLocale}" is not a BCP 47 locale tag`);
  const overrides = options.overridesDir === undefined ? undefined : await loadTemplateOverrides(options.overridesDir);
  const builtins = checkBuiltins();
  const blocks = checkAntiPhishingBlocks();
  const productName = options.productName;
  if (typeof productName !== "string" || productName.trim() === "") throw new RangeError("productName must be a non-empty string");

  const find = (chain: readonly string[], kind: MessageTemplateKind, part: TemplatePart): CheckedTemplate | undefined => {
    for (const locale of chain) {
      const key = templateKey(locale, kind, part);
      const found = overrides?.templates.get(key) ?? builtins.get(key);
      if (found !== undefined) return found;
    }
    return undefined;
  };

  const fallbackChain = localeChain(undefined, fallbackLocale);
  for (const kind of MESSAGE_TEMPLATE_KINDS) {
    for (const part of partsOf(kind)) {
      if (find(fallbackChain, kind, part) === undefined) {
        const builtinLocales = [...BUILTIN_LOCALES.keys()].join(", ");
        throw new RangeError(`fallbackLocale "${fallbackLocale}" has no ${part} template for ${kind} (built-in locales: ${builtinLocales})`);
      }
    }
  }

  return {
    locales: [...new Set([...BUILTIN_LOCALES.keys(), ...(overrides?.locales ?? [])])].sort(),
    render<K extends MessageTemplateKind, C extends TemplateChannelOf<K>>(
      kind: K,
      channel: C,
      locale: string | undefined,
      view: TemplateView,
    ): ChannelParts[C] {
      const channels: readonly MessageKind[] = KIND_CHANNELS[kind];
      if (!channels.includes(channel)) throw new TypeError(`${kind} is not sent by ${channel}`);
      const values = viewValues(view, productName);
      const chain = localeChain(locale, fallbackLocale);
      const rendered: Record<string, string> = {};
      for (const part of CHANNEL_PARTS[channel]) {
        const template = find(chain, kind, part);
        // Unreachable: creation checked that the fallback locale has every part.
        if (template === undefined) throw new Error(`no ${part} template for ${kind}`);
        let output = renderTemplate(template.template, values, part === "html" ? escapeHtml : asText);
        if (part === "subject" || part === "push-title") output = output.replace(/\s*[\r\n]+\s*/g, " ");
        const antiPhishingCode = values.antiPhishingCode;
        if ((part === "text" || part === "html") && antiPhishingCode !== undefined) {
          output = withAntiPhishingCode(output, template, part, String(antiPhishingCode), blockFor(blocks, chain), values);
        }
        rendered[TEMPLATE_PARTS[part].field] = output;
      }
      // The loop filled exactly the fields of CHANNEL_PARTS[channel], which is ChannelParts[C].
      return rendered as unknown as ChannelParts[C];
    },
  };
}

/** Makes sure an email shows the anti-phishing code, whoever wrote its template. */
function withAntiPhishingCode(
  output: string,
  template: CheckedTemplate,
  part: "text" | "html",
  antiPhishingCode: string,
  block: CheckedBlock,
  values: TemplateValues,
): string {
  if (showsAntiPhishingCode(output, antiPhishingCode, template.variables.has("antiPhishingCode"), part)) return output;
  if (part === "text") return prependTextBlock(output, renderTemplate(block.text.template, values, asText));
  return prependHtmlBlock(output, renderTemplate(block.html.template, values, escapeHtml));
}

/** The block in the first locale of the chain that has one; English when none has. */
function blockFor(blocks: ReadonlyMap<string, CheckedBlock>, chain: readonly string[]): CheckedBlock {
  for (const locale of chain) {
    const block = blocks.get(locale);
    if (block !== undefined) return block;
  }
  const english = blocks.get("en");
  if (english === undefined) throw new Error("the built-in English anti-phishing block is missing");
  return english;
}

/** Only the known names, only strings and finite numbers: nothing else reaches mustache. */
function viewValues(view: TemplateView, productName: string): TemplateValues {
  const values: Record<string, string | number | undefined> = {
    code: view.code,
    expiresInMinutes: view.expiresInMinutes,
    productName,
    antiPhishingCode: view.antiPhishingCode || undefined,
    verificationId: view.verificationId,
    link: view.link,
    key: view.key,
    changedAt: view.changedAt,
    validUntil: view.validUntil,
  };
  for (const [name, value] of Object.entries(values)) {
    const valid = value === undefined || typeof value === "string" || (typeof value === "number" && Number.isFinite(value));
    if (!valid) throw new TypeError(`template value ${name} must be a string or a finite number`);
  }
  if (values.code === undefined || values.expiresInMinutes === undefined) {
    throw new TypeError("template values code and expiresInMinutes are required");
  }
  return values;
}
