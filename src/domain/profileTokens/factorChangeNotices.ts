import type { OutboundMessage } from "../messages/outboundMessage.js";
import type { MessageTemplateKind, TemplateRenderer } from "../messages/messageTemplates.js";
import type { KeyedHash } from "../../crypto/keyedHash.js";
import type { MessageSealer, NewOutboxMessage } from "../messages/messageDelivery.js";
import type { Logger } from "../logger.js";
import { generateCode } from "../secrets/codeGenerator.js";
import { maskDestination } from "./masking.js";
import type { Target } from "./operations.js";
import { keyOf, userKeyTypes, type Announce, type FactorChange, type NewFactorChangeReport, type SecurityProfile, type UserKey } from "./securityProfile.js";
import { expiresInMinutes } from "../expiresInMinutes.js";

/** 24 of 36 symbols, about 124 bits: long-lived and taken from anyone, so never guessable. */
const reportTokenShape = { length: 24, symbolSets: ["digits", "lowercase"] } as const;

export interface FactorChangeNoticeDependencies {
  readonly templates: TemplateRenderer;
  readonly delivery: MessageSealer;
  /** Names a report token in storage; the token itself is only in the message. */
  readonly reportHash: KeyedHash;
  /** How long a report token works (TOKEN_FACTOR_REPORT_TTL_SECONDS). */
  readonly reportTtlMs: number;
  readonly logger: Logger;
}

export interface AppliedChange {
  readonly change: FactorChange;
  /** The key acted on: its old value and, for a new or replaced key, its new one. */
  readonly target: Target | undefined;
  /** Where the change's OTT went: whoever consumed it knows already. */
  readonly confirmedBy: UserKey;
  readonly locale: string | undefined;
  readonly requestId?: string | undefined;
}

/** A report token as the user gets it, and the keyed hash it is found by. */
function newReportToken(reportHash: KeyedHash): { token: string; tokenHash: string } {
  const token = generateCode(reportTokenShape);
  return { token, tokenHash: reportHash(token) };
}

/**
 * The announcement of one applied factor change: a notice, each with its own report token, to
 * every verified key of the profile and to a key the change replaced or removed, except the key
 * the change's OTT went to. A recipient whose notice cannot be built (no channel for its kind) is
 * logged and left out: a notice never undoes the change it announces.
 */
export function announceFactorChange(deps: FactorChangeNoticeDependencies, applied: AppliedChange): Announce {
  return (before, after) => {
    const reports: NewFactorChangeReport[] = [];
    const messages: NewOutboxMessage[] = [];
    const changedAt = after.updatedAt;
    const validUntil = new Date(changedAt.getTime() + deps.reportTtlMs);
    const kind: MessageTemplateKind = `notice.${applied.change}`;
    const shownKey = maskDestination(changedKey(applied));
    for (const recipient of recipientsOf(before, after, applied.confirmedBy)) {
      try {
        const { token, tokenHash } = newReportToken(deps.reportHash);
        const view = {
          code: token,
          expiresInMinutes: expiresInMinutes(deps.reportTtlMs),
          key: shownKey,
          changedAt: formatTime(changedAt, applied.locale),
          validUntil: formatTime(validUntil, applied.locale),
          antiPhishingCode: after.antiPhishingCode,
        };
        const message: OutboundMessage =
          recipient.type === "email"
            ? { kind: "email", to: recipient.value, ...deps.templates.render(kind, "email", applied.locale, view) }
            : { kind: "sms", to: recipient.value, ...deps.templates.render(kind, "sms", applied.locale, view) };
        const sealed = deps.delivery.seal(message, { template: kind, reference: "factor_change_report" });
        messages.push({ ...sealed, expiresAt: validUntil });
        reports.push({ tokenHash, change: applied.change, ttlMs: deps.reportTtlMs });
      } catch (error) {
        deps.logger.warn({ err: error, requestId: applied.requestId, userId: after.userId, change: applied.change, channel: recipient.type }, "a factor change could not be announced to one of the user's keys");
      }
    }
    return { reports, messages };
  };
}

/** The key a notice names: the new value of an added or replaced key, else the key acted on. */
function changedKey(applied: AppliedChange): UserKey {
  const { target, confirmedBy } = applied;
  if (target === undefined) return confirmedBy;
  return { type: target.type, value: target.next ?? target.current ?? confirmedBy.value };
}

function recipientsOf(before: SecurityProfile, after: SecurityProfile, confirmedBy: UserKey): UserKey[] {
  const recipients: UserKey[] = [];
  const add = (key: UserKey) => {
    const same = (other: UserKey) => other.type === key.type && other.value === key.value;
    if (!same(confirmedBy) && !recipients.some(same)) recipients.push(key);
  };
  for (const type of userKeyTypes) {
    const now = keyOf(after, type);
    if (now?.verified === true) add({ type, value: now.value });
    // The key this change replaced or removed: its owner may be the one locked out.
    const was = keyOf(before, type);
    if (was?.verified === true && was.value !== now?.value) add({ type, value: was.value });
  }
  return recipients;
}

/** A time in the message's language, always in UTC (we do not know the reader's zone). */
function formatTime(time: Date, locale: string | undefined): string {
  const options = { dateStyle: "long", timeStyle: "short", timeZone: "UTC" } as const;
  try {
    return `${new Intl.DateTimeFormat(locale, options).format(time)} UTC`;
  } catch {
    // A locale tag Intl cannot read: the template falls back the same way.
    return `${new Intl.DateTimeFormat("en", options).format(time)} UTC`;
  }
}
