import { KIND_CHANNELS, MESSAGE_TEMPLATE_KINDS, type MessageTemplateKind } from "../../domain/messages/messageTemplates.js";
import type { MessageKind } from "../../domain/messages/outboundMessage.js";

/*
 * How the domain's message kinds (domain/messages/messageTemplates.ts) become template files:
 * the parts each kind has, where each part lands, and the variables a kind may use.
 */

/** One template: its file name in an overrides directory is `<part>.mustache`. */
export type TemplatePart = "subject" | "text" | "html" | "sms" | "push-title" | "push-body";

/** Where each part lands in the rendered message. */
export const TEMPLATE_PARTS = {
  subject: { channel: "email", field: "subject" },
  text: { channel: "email", field: "text" },
  html: { channel: "email", field: "html" },
  sms: { channel: "sms", field: "text" },
  "push-title": { channel: "push", field: "title" },
  "push-body": { channel: "push", field: "body" },
} as const satisfies Record<TemplatePart, { channel: MessageKind; field: string }>;

export const CHANNEL_PARTS = {
  email: ["subject", "text", "html"],
  sms: ["sms"],
  push: ["push-title", "push-body"],
} as const satisfies Record<MessageKind, readonly TemplatePart[]>;

/**
 * Parts shown before a message is opened (inbox previews, lock screens): they must never carry
 * the code or a link, whatever an override says.
 */
export const PREVIEW_PARTS: ReadonlySet<TemplatePart> = new Set(["subject", "push-title"]);

export function isMessageTemplateKind(name: string): name is MessageTemplateKind {
  return (MESSAGE_TEMPLATE_KINDS as readonly string[]).includes(name);
}

export function channelsOf(kind: MessageTemplateKind): readonly MessageKind[] {
  return KIND_CHANNELS[kind];
}

export function partsOf(kind: MessageTemplateKind): readonly TemplatePart[] {
  return channelsOf(kind).flatMap((channel) => CHANNEL_PARTS[channel]);
}

const COMMON_VARIABLES = ["code", "expiresInMinutes", "productName", "antiPhishingCode"] as const;
/** A notice says which key changed (masked), when, and until when its report token works. */
const NOTICE_VARIABLES = ["key", "changedAt", "validUntil"] as const;

/** The variables a kind's templates may use; any other name is refused when templates load. */
export function variablesOf(kind: MessageTemplateKind): readonly string[] {
  if (kind === "verification") return [...COMMON_VARIABLES, "verificationId"];
  if (kind === "account_recovery") return [...COMMON_VARIABLES, "link"];
  if (kind.startsWith("notice.")) return [...COMMON_VARIABLES, ...NOTICE_VARIABLES];
  return COMMON_VARIABLES;
}

/** The key of one template in a template set. */
export function templateKey(locale: string, kind: MessageTemplateKind, part: TemplatePart): string {
  return `${locale}/${kind}/${part}`;
}
