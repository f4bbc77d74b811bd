import { EABORT, EENVELOPE, EMESSAGE, isPermanentResponseCode, type NodemailerError } from "nodemailer/lib/errors";
import type { DeliveryOutcome } from "../channel.js";

/**
 * What each reply code means (RFC 5321 4.2.2–4.2.3, RFC 4954 for AUTH). The reason carries this
 * fixed text instead of the server's own words, which may quote the recipient or the message.
 */
const replyTexts: Readonly<Record<number, string>> = {
  421: "service not available",
  432: "password transition needed",
  450: "mailbox unavailable",
  451: "local error in processing",
  452: "insufficient system storage",
  454: "temporary authentication failure",
  455: "server unable to accommodate parameters",
  500: "syntax error",
  501: "syntax error in parameters",
  502: "command not implemented",
  503: "bad sequence of commands",
  504: "parameter not implemented",
  521: "does not accept mail",
  523: "message too big",
  530: "authentication required",
  534: "authentication mechanism too weak",
  535: "authentication credentials invalid",
  538: "encryption required",
  550: "mailbox unavailable",
  551: "user not local",
  552: "exceeded storage allocation",
  553: "mailbox name not allowed",
  554: "transaction failed",
  555: "parameters not recognized",
  556: "domain does not accept mail",
};

/** Codes that speak about this message or its envelope, rather than the connection or our login. */
const messageCodes = new Set<string | undefined>([EENVELOPE, EMESSAGE]);

/**
 * Maps a failed nodemailer send to an outcome.
 *
 * - aborted (the caller's signal): `failed`, "timed out" when the signal was a timeout.
 * - the server refused the envelope or the message with a permanent reply (5xx but 503): `rejected`.
 *   nodemailer's own envelope checks (no recipient, an address it cannot use, a message over the
 *   size the server announced) are `rejected` too: sending again cannot help.
 * - every transient reply (4xx, 503): `failed`.
 * - everything else — refused connection, timeouts, TLS, a 5xx to AUTH or STARTTLS, a closed
 *   connection — is `failed`: it says something about the server or our configuration, not about
 *   this message, and the next attempt may go through.
 *
 * The reason holds only identifiers and fixed text: the SMTP command, the reply code with its
 * enhanced status code and RFC meaning, nodemailer's error code, the socket error code. Never the
 * server's own words, the recipient or the message.
 */
export function outcomeOfSmtpError(error: unknown, signal: AbortSignal): DeliveryOutcome {
  if (signal.aborted) return { status: "failed", reason: abortReason(signal) };
  const details = errorDetails(error);
  if (details.code === EABORT) return { status: "failed", reason: "aborted" };

  const { responseCode } = details;
  if (messageCodes.has(details.code)) {
    if (responseCode === undefined) return { status: "rejected", reason: `refused before sending (${details.code})` };
    const reason = replyReason(details, responseCode);
    return isPermanentResponseCode(responseCode) ? { status: "rejected", reason } : { status: "failed", reason };
  }
  if (responseCode !== undefined) return { status: "failed", reason: replyReason(details, responseCode) };
  return { status: "failed", reason: failureReason(details) };
}

/** "timed out" when the signal came from `AbortSignal.timeout` (or carries a TimeoutError), else "aborted". */
export function abortReason(signal: AbortSignal): string {
  const reason: unknown = signal.reason;
  return reason instanceof Error && reason.name === "TimeoutError" ? "timed out" : "aborted";
}

interface ErrorDetails {
  readonly code?: string | undefined;
  readonly originalCode?: string | undefined;
  readonly timeoutType?: string | undefined;
  readonly command?: string | undefined;
  readonly responseCode?: number | undefined;
  readonly enhancedStatus?: string | undefined;
}

/** Reads the fields nodemailer sets, keeping only values shaped like identifiers. */
function errorDetails(error: unknown): ErrorDetails {
  if (!(error instanceof Error)) return {};
  const fields = error as NodemailerError;
  const responseCode =
    typeof fields.responseCode === "number" && fields.responseCode >= 200 && fields.responseCode < 600
      ? fields.responseCode
      : undefined;
  const enhancedStatus = typeof fields.response === "string" ? /^\d{3}[ -]([245]\.\d{1,3}\.\d{1,3})\b/.exec(fields.response)?.[1] : undefined;
  return {
    code: identifier(fields.code),
    originalCode: identifier(fields.originalCode),
    timeoutType: identifier(fields.timeoutType),
    command: commandName(fields.command),
    responseCode,
    enhancedStatus,
  };
}

function replyReason(details: ErrorDetails, responseCode: number): string {
  const status = [String(responseCode), details.enhancedStatus, replyTexts[responseCode]].filter(Boolean).join(" ");
  return details.command === undefined ? `server replied ${status}` : `${details.command} refused: ${status}`;
}

function failureReason(details: ErrorDetails): string {
  const parts = [details.code, details.timeoutType ?? details.originalCode].filter(Boolean);
  if (details.code === "ETIMEDOUT") return `timed out (${parts.join(" ")})`;
  return parts.length === 0 ? "smtp error" : `smtp error ${parts.join(" ")}`;
}

function identifier(value: unknown): string | undefined {
  return typeof value === "string" && /^[A-Z][A-Z0-9_]{0,39}$/.test(value) ? value : undefined;
}

/** nodemailer names the command in flight (`RCPT TO`, `AUTH PLAIN`, `CONN`); the greeting is `CONN`. */
function commandName(value: unknown): string | undefined {
  return typeof value === "string" && /^[A-Z][A-Z0-9 -]{0,23}$/.test(value) ? value : undefined;
}
