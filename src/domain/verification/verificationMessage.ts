import type { EmailMessage, SmsMessage } from "../messages/outboundMessage.js";
import type { TemplateRenderer } from "../messages/messageTemplates.js";
import { escapeHtml } from "../messages/htmlEscape.js";
import { InvalidArgument } from "../../errors/domainError.js";

/** The caller's own template (seed 002): `{{{CODE}}}` and `{{{VERIFICATION_ID}}}` placeholders. */
export interface CallerTemplate {
  readonly subject?: string;
  readonly text?: string;
  readonly html?: string;
}

export interface MessageFacts {
  readonly code: string;
  readonly verificationId: string;
  readonly expiresInMinutes: number;
  readonly locale?: string;
}

const codeMark = "{{{CODE}}}";
const idMark = "{{{VERIFICATION_ID}}}";

function fill(template: string, facts: MessageFacts, escape: (value: string) => string): string {
  return template.replaceAll(codeMark, escape(facts.code)).replaceAll(idMark, escape(facts.verificationId));
}

/** Refuses caller templates that would not show the code, or would show it where it leaks. */
export function checkCallerTemplate(template: CallerTemplate | undefined, method: "email" | "phone"): void {
  if (template === undefined) return;
  if (template.subject?.includes(codeMark) === true) {
    throw InvalidArgument.field("template.subject", "no_code", "may not contain {{{CODE}}}: inbox previews show subjects");
  }
  const bodies = method === "email" ? [template.text, template.html] : [template.text];
  for (const [index, body] of bodies.entries()) {
    if (body !== undefined && body !== "" && !body.includes(codeMark)) {
      const field = index === 0 ? "template.text_body" : "template.html_body";
      throw InvalidArgument.field(field, "has_code", "must contain {{{CODE}}}");
    }
  }
}

/**
 * The email for a verification: the caller's parts where given (HTML-escaped into the HTML
 * body), the built-in template for the rest.
 */
export function verificationEmail(
  to: string,
  template: CallerTemplate | undefined,
  facts: MessageFacts,
  templates: TemplateRenderer,
): EmailMessage {
  const builtin = templates.render("verification", "email", facts.locale, {
    code: facts.code,
    expiresInMinutes: facts.expiresInMinutes,
    verificationId: facts.verificationId,
  });
  const given = (value: string | undefined) => (value === undefined || value === "" ? undefined : value);
  const subject = given(template?.subject);
  const text = given(template?.text);
  const html = given(template?.html);
  return {
    kind: "email",
    to,
    subject: subject === undefined ? builtin.subject : fill(subject, facts, (value) => value).replace(/[\r\n]+/g, " "),
    text: text === undefined ? builtin.text : fill(text, facts, (value) => value),
    html: html === undefined ? (text === undefined ? builtin.html : `<pre>${escapeHtml(fill(text, facts, (value) => value))}</pre>`) : fill(html, facts, escapeHtml),
  };
}

export function verificationSms(to: string, template: CallerTemplate | undefined, facts: MessageFacts, templates: TemplateRenderer): SmsMessage {
  const text = template?.text;
  return {
    kind: "sms",
    to,
    text:
      text === undefined || text === ""
        ? templates.render("verification", "sms", facts.locale, { code: facts.code, expiresInMinutes: facts.expiresInMinutes }).text
        : fill(text, facts, (value) => value),
  };
}
