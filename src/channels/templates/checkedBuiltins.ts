import type { MessageKind } from "../../domain/messages/outboundMessage.js";
import type { BuiltinLocale } from "./builtin/builtinLocale.js";
import { BUILTIN_LOCALES } from "./builtin/index.js";
import { MESSAGE_TEMPLATE_KINDS, type MessageTemplateKind } from "../../domain/messages/messageTemplates.js";
import type { TemplatePart } from "./kinds.js";
import { TEMPLATE_PARTS, partsOf, templateKey, variablesOf } from "./kinds.js";
import type { CheckedTemplate } from "./templateCheck.js";
import { checkTemplate } from "./templateCheck.js";

/** One locale's anti-phishing block, checked. */
export interface CheckedBlock {
  readonly text: CheckedTemplate;
  readonly html: CheckedTemplate;
}

/** Built-ins are compile-checked for shape; their mustache goes through the same checks as overrides. */
export function checkBuiltins(): Map<string, CheckedTemplate> {
  const checked = new Map<string, CheckedTemplate>();
  for (const [locale, builtin] of BUILTIN_LOCALES) {
    for (const kind of MESSAGE_TEMPLATE_KINDS) {
      for (const part of partsOf(kind)) {
        const template = builtinTemplate(builtin, kind, part);
        const source = `builtin:${templateKey(locale, kind, part)}`;
        if (template === undefined) throw new Error(`${source} is missing`);
        checked.set(templateKey(locale, kind, part), checkTemplate(template, { part, variables: variablesOf(kind) }, source));
      }
    }
  }
  return checked;
}

export function checkAntiPhishingBlocks(): Map<string, CheckedBlock> {
  const variables = ["antiPhishingCode", "productName"];
  const checked = new Map<string, CheckedBlock>();
  for (const [locale, { antiPhishingBlock }] of BUILTIN_LOCALES) {
    const source = `builtin:${locale}/anti-phishing-block`;
    checked.set(locale, {
      text: checkTemplate(antiPhishingBlock.text, { part: "text", variables }, `${source}/text`),
      html: checkTemplate(antiPhishingBlock.html, { part: "html", variables }, `${source}/html`),
    });
  }
  return checked;
}

/** A built-in part by name; the typed structure is keyed by channel and field. */
function builtinTemplate(builtin: BuiltinLocale, kind: MessageTemplateKind, part: TemplatePart): string | undefined {
  const { channel, field } = TEMPLATE_PARTS[part];
  const byChannel: Partial<Record<MessageKind, Readonly<Record<string, string>>>> = builtin.templates[kind];
  return byChannel[channel]?.[field];
}
