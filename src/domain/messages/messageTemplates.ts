import type { MessageKind } from "./outboundMessage.js";

/*
 * The messages the rules write and the port they write them through: which kinds exist, the
 * channels each goes out on, what a message shows, and what a rendered part holds.
 */

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

// Type aliases, not interfaces: they index like records (see channels/templates/checkedBuiltins.ts's builtinTemplate).
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

/** What a template renders to, per channel: the content fields of outboundMessage.ts's messages. */
export interface ChannelParts {
  readonly email: EmailParts;
  readonly sms: SmsParts;
  readonly push: PushParts;
}

/** What a message shows. Strings and numbers only; `productName` comes from the renderer's options. */
export interface TemplateView {
  /** The one-time code or token. Never shown in a subject or push title. */
  readonly code: string;
  readonly expiresInMinutes: number;
  /** The user's anti-phishing code: every email to them shows it (text and HTML). */
  readonly antiPhishingCode?: string | undefined;
  /** Seed 002's verification id, for `verification` templates. */
  readonly verificationId?: string | undefined;
  /** The recovery page's address, for `account_recovery` templates. */
  readonly link?: string | undefined;
  /** `notice.*`: the key that changed, masked. */
  readonly key?: string | undefined;
  /** `notice.*`: when the change was applied, formatted for the locale. */
  readonly changedAt?: string | undefined;
  /** `notice.*`: when the report token stops working, formatted for the locale. */
  readonly validUntil?: string | undefined;
}

/**
 * Renders a message kind's parts for one channel: the port the rules write messages through,
 * implemented by channels/templates (built-in and overridden mustache templates).
 */
export interface TemplateRenderer {
  /** Locales with templates of their own (built-in or overridden), canonical tags, sorted. */
  readonly locales: readonly string[];
  /**
   * Renders `kind` for `channel` in the best locale for `locale`: exact tag, then less specific
   * tags down to the language, then the fallback locale; each part resolves on its own, so an
   * override may replace a single part. Throws a TypeError on a channel the kind is not sent by
   * or a view value that is not a string or a finite number.
   */
  render<K extends MessageTemplateKind, C extends TemplateChannelOf<K>>(
    kind: K,
    channel: C,
    locale: string | undefined,
    view: TemplateView,
  ): ChannelParts[C];
}
