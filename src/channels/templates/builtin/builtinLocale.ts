import type { ChannelParts, MessageTemplateKind, TemplateChannelOf } from "../../../domain/messages/messageTemplates.js";

/** An email or SMS that carries a code. Copy is mustache: it may use the kind's variables. */
export interface CodeMessageCopy {
  /** Subject and heading. Never the code: subjects show in inbox previews. */
  readonly subject: string;
  /** What the code is for, ending with a colon: the code follows on its own line. */
  readonly lead: string;
  /** The whole SMS: under 160 GSM characters with an 8-character code. */
  readonly sms: string;
}

/** A push notification. Never the token: it travels in the push's data, not on the lock screen. */
export interface PushMessageCopy {
  readonly title: string;
  readonly body: string;
}

type CopyOf<K extends MessageTemplateKind> = "push" extends TemplateChannelOf<K> ? PushMessageCopy : CodeMessageCopy;

/** What a translator writes for one locale; {@link defineBuiltinLocale} lays it out. */
export interface LocaleCopy {
  /** The HTML `lang` attribute. */
  readonly lang: string;
  /** Follows the code in emails: when it expires, not to share it. */
  readonly expiry: string;
  /** Closes every email. */
  readonly ignore: string;
  /** Notices: follows the report code in emails: until when it works, and what using it does. */
  readonly noticeExpiry: string;
  /** Notices: closes the email (the user who made the change need do nothing). */
  readonly noticeClosing: string;
  /** The standard anti-phishing block: `label: <code>`, then `hint` on a line of its own. */
  readonly antiPhishing: { readonly label: string; readonly hint: string };
  readonly messages: { readonly [K in MessageTemplateKind]: CopyOf<K> };
}

export type KindTemplates<K extends MessageTemplateKind> = {
  readonly [C in TemplateChannelOf<K>]: ChannelParts[C];
};

/** Every kind's templates in one locale, each part a mustache template. */
export type LocaleTemplates = { readonly [K in MessageTemplateKind]: KindTemplates<K> };

export interface BuiltinLocale {
  readonly templates: LocaleTemplates;
  /** Shown at the top of every email to a user with an anti-phishing code. */
  readonly antiPhishingBlock: { readonly text: string; readonly html: string };
}

/** Copy is plain text; in HTML the markup characters must not be taken for tags. */
function htmlText(copy: string): string {
  return copy.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");
}

const BODY_STYLE =
  "margin:0;padding:24px;background:#ffffff;color:#1f2328;" +
  "font-family:-apple-system,BlinkMacSystemFont,'Segoe UI',Helvetica,Arial,sans-serif;font-size:16px;line-height:1.5;";
const CODE_STYLE =
  "margin:0 0 16px;font-family:Menlo,Consolas,'Courier New',monospace;font-size:28px;font-weight:bold;letter-spacing:4px;";
const BLOCK_STYLE =
  "margin:0 0 24px;padding:12px 16px;border:1px solid #d1d9e0;border-radius:6px;background:#f6f8fa;font-size:14px;";

function codeEmail(locale: LocaleCopy, copy: CodeMessageCopy, expiry = locale.expiry, closing = locale.ignore): ChannelParts["email"] {
  const text = [copy.lead, "{{code}}", expiry, closing].join("\n\n");
  const html = [
    "<!DOCTYPE html>",
    `<html lang="${locale.lang}">`,
    "<head>",
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${htmlText(copy.subject)}</title>`,
    "</head>",
    `<body style="${BODY_STYLE}">`,
    `<h1 style="margin:0 0 16px;font-size:20px;">${htmlText(copy.subject)}</h1>`,
    `<p style="margin:0 0 16px;">${htmlText(copy.lead)}</p>`,
    `<p style="${CODE_STYLE}">{{code}}</p>`,
    `<p style="margin:0 0 16px;">${htmlText(expiry)}</p>`,
    `<p style="margin:0;color:#59636e;font-size:14px;">${htmlText(closing)}</p>`,
    "</body>",
    "</html>",
  ].join("\n");
  return { subject: copy.subject, text, html };
}

function codeMessage(locale: LocaleCopy, copy: CodeMessageCopy): KindTemplates<"token.login"> {
  return { email: codeEmail(locale, copy), sms: { text: copy.sms } };
}

/** A factor-change notice: what changed and when, then the "this wasn't me" code. */
function noticeMessage(locale: LocaleCopy, copy: CodeMessageCopy): KindTemplates<"notice.key_added"> {
  return { email: codeEmail(locale, copy, locale.noticeExpiry, locale.noticeClosing), sms: { text: copy.sms } };
}

function pushMessage(copy: PushMessageCopy): KindTemplates<"account_creation"> {
  return { push: { title: copy.title, body: copy.body } };
}

/** Lays out one locale's copy as templates: the same structure, the same block, in every language. */
export function defineBuiltinLocale(locale: LocaleCopy): BuiltinLocale {
  const { messages } = locale;
  const { label, hint } = locale.antiPhishing;
  return {
    templates: {
      "token.registration": codeMessage(locale, messages["token.registration"]),
      "token.login": codeMessage(locale, messages["token.login"]),
      "token.password_recovery": codeMessage(locale, messages["token.password_recovery"]),
      "token.key_recovery_verification": codeMessage(locale, messages["token.key_recovery_verification"]),
      "token.key_recovery_new_key": codeMessage(locale, messages["token.key_recovery_new_key"]),
      "token.password_change": codeMessage(locale, messages["token.password_change"]),
      "token.key_adding": codeMessage(locale, messages["token.key_adding"]),
      "token.key_changing": codeMessage(locale, messages["token.key_changing"]),
      "token.key_changing_new_key": codeMessage(locale, messages["token.key_changing_new_key"]),
      "token.key_removing": codeMessage(locale, messages["token.key_removing"]),
      "token.anti_phishing_adding": codeMessage(locale, messages["token.anti_phishing_adding"]),
      "token.anti_phishing_changing": codeMessage(locale, messages["token.anti_phishing_changing"]),
      "token.mfa_disabling": codeMessage(locale, messages["token.mfa_disabling"]),
      "notice.key_added": noticeMessage(locale, messages["notice.key_added"]),
      "notice.key_changed": noticeMessage(locale, messages["notice.key_changed"]),
      "notice.key_recovered": noticeMessage(locale, messages["notice.key_recovered"]),
      "notice.key_removed": noticeMessage(locale, messages["notice.key_removed"]),
      "notice.mfa_disabled": noticeMessage(locale, messages["notice.mfa_disabled"]),
      verification: codeMessage(locale, messages.verification),
      account_creation: pushMessage(messages.account_creation),
      account_recovery: pushMessage(messages.account_recovery),
    },
    antiPhishingBlock: {
      text: `${label}: {{antiPhishingCode}}\n${hint}`,
      html: `<p style="${BLOCK_STYLE}">${htmlText(label)}: <strong>{{antiPhishingCode}}</strong><br>${htmlText(hint)}</p>`,
    },
  };
}
