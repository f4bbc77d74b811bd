import type { MessageKind } from "../../domain/messages/outboundMessage.js";

/**
 * Every message onetime renders from a template. The `token.*` kinds are TokenService's
 * operations (seeds 000/001), the `notice.*` kinds announce an applied factor change to the
 * profile's other keys with a "this wasn't me" report token, `verification` is VerificationService's default message when the
 * caller gives no template (seed 002), the `account_*` kinds are AccountTokenService's pushes
 * (seed 003).
 */
export const MESSAGE_TEMPLATE_KINDS = [
  "token.registration",
  "token.login",
  "token.password_recovery",
  "token.key_recovery_verification",
  "token.key_recovery_new_key",
  "token.password_change",
  "token.key_adding",
  "token.key_changing",
  "token.key_changing_new_key",
  "token.key_removing",
  "token.anti_phishing_adding",
  "token.anti_phishing_changing",
  "token.mfa_disabling",
  "notice.key_added",
  "notice.key_changed",
  "notice.key_recovered",
  "notice.key_removed",
  "notice.mfa_disabled",
  "verification",
  "account_creation",
  "account_recovery",
] as const;

export type MessageTemplateKind = (typeof MESSAGE_TEMPLATE_KINDS)[number];

/** A code goes out by email or SMS; account tokens travel by push. */
const CODE_CHANNELS = ["email", "sms"] as const;
const PUSH_CHANNELS = ["push"] as const;

/** Which channels each kind can go out on: a kind's templates have exactly those channels' parts. */
export const KIND_CHANNELS = {
  "token.registration": CODE_CHANNELS,
  "token.login": CODE_CHANNELS,
  "token.password_recovery": CODE_CHANNELS,
  "token.key_recovery_verification": CODE_CHANNELS,
  "token.key_recovery_new_key": CODE_CHANNELS,
  "token.password_change": CODE_CHANNELS,
  "token.key_adding": CODE_CHANNELS,
  "token.key_changing": CODE_CHANNELS,
  "token.key_changing_new_key": CODE_CHANNELS,
  "token.key_removing": CODE_CHANNELS,
  "token.anti_phishing_adding": CODE_CHANNELS,
  "token.anti_phishing_changing": CODE_CHANNELS,
  "token.mfa_disabling": CODE_CHANNELS,
  "notice.key_added": CODE_CHANNELS,
  "notice.key_changed": CODE_CHANNELS,
  "notice.key_recovered": CODE_CHANNELS,
  "notice.key_removed": CODE_CHANNELS,
  "notice.mfa_disabled": CODE_CHANNELS,
  verification: CODE_CHANNELS,
  account_creation: PUSH_CHANNELS,
  account_recovery: PUSH_CHANNELS,
} as const satisfies Record<MessageTemplateKind, readonly MessageKind[]>;

export type TemplateChannelOf<K extends MessageTemplateKind> = (typeof KIND_CHANNELS)[K][number];

// Type aliases, not interfaces: they index like records (see checkedBuiltins.ts's builtinTemplate).
export type EmailParts = {
  readonly subject: string;
  readonly text: string;
  readonly html: string;
};

export type SmsParts = {
  readonly text: string;
};

export type PushParts = {
  readonly title: string;
  readonly body: string;
};

/** What a template renders to, per channel: the content fields of channel.ts's messages. */
export interface ChannelParts {
  readonly email: EmailParts;
  readonly sms: SmsParts;
  readonly push: PushParts;
}

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
