import type { MessageKind } from "../../../src/domain/messages/outboundMessage.js";
import { KIND_CHANNELS, MESSAGE_TEMPLATE_KINDS, type MessageTemplateKind, type TemplateView } from "../../../src/domain/messages/messageTemplates.js";

export const BUILTIN_LOCALES = ["en", "de"] as const;

/** The fixed view of the snapshots. */
export const VIEW: TemplateView = {
  code: "482913",
  expiresInMinutes: 10,
  // Shown by factor-change notices only.
  key: "n***@example.com",
  changedAt: "1 January 2026 at 09:30 UTC",
  validUntil: "8 January 2026 at 09:30 UTC",
};
export const ANTI_PHISHING_CODE = "BLUE-FOX";

export interface TemplateCase {
  readonly kind: MessageTemplateKind;
  readonly channel: MessageKind;
}

/** Every kind on every channel it goes out on. */
export const TEMPLATE_CASES: readonly TemplateCase[] = MESSAGE_TEMPLATE_KINDS.flatMap((kind) =>
  KIND_CHANNELS[kind].map((channel): TemplateCase => ({ kind, channel })),
);

export const EMAIL_KINDS = TEMPLATE_CASES.filter((c) => c.channel === "email").map((c) => c.kind);
