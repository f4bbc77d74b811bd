import { randomUUID } from "node:crypto";
import type { ConnectionOptions } from "node:tls";
import { createTransport, type SMTPSentMessageInfo, type SMTPTransportOptions, type Transporter } from "nodemailer";
import type { Channel, DeliveryOutcome } from "../channel.js";
import type { EmailMessage } from "../../domain/messages/outboundMessage.js";
import { isValidEmailAddress } from "../../domain/destinations/emailAddress.js";
import { domainOf, parseMailbox, type Mailbox } from "./mailbox.js";
import { abortReason, outcomeOfSmtpError } from "./smtpOutcome.js";
import { InvalidSmtpConfiguration, parseSmtpUrl } from "./smtpUrl.js";

export { InvalidSmtpConfiguration };

/** The certificate checks a deployment (or a test with its own CA) may adjust. */
export type SmtpTlsOptions = Pick<ConnectionOptions, "ca" | "rejectUnauthorized" | "servername" | "minVersion">;

export interface SmtpChannelOptions {
  /** `smtp://user:pass@host[:587]` (STARTTLS when offered) or `smtps://user:pass@host[:465]` (TLS from the start); required. */
  readonly url: string;
  /** Sender, `no-reply@example.com` or `onetime <no-reply@example.com>`; required, checked when the channel is created. */
  readonly from: string;
  /** Reply-To, same forms as `from`; default none. */
  readonly replyTo?: string;
  /** On smtp://, refuse to send unless the connection is upgraded with STARTTLS; default false (upgrade when offered). */
  readonly requireTls?: boolean;
  /** Deadline for opening the connection; default 5_000 ms (nodemailer's is 2 minutes). */
  readonly connectionTimeoutMs?: number;
  /** Deadline for the server's greeting and a STARTTLS upgrade; default 5_000 ms (nodemailer's is 30 s). */
  readonly greetingTimeoutMs?: number;
  /** Longest silence allowed from the server on an open connection; default 10_000 ms (nodemailer's is 10 minutes). */
  readonly socketTimeoutMs?: number;
  /** Keep connections open between sends and reuse them; default true. */
  readonly pool?: boolean;
  /** Most connections open at once when pooling, further sends wait in the pool's queue; default 3. */
  readonly maxConnections?: number;
  /** Certificate checks for the server, e.g. `ca` for a private CA; default Node's CA store, verified. */
  readonly tls?: SmtpTlsOptions;
}

const defaults = {
  connectionTimeoutMs: 5_000,
  greetingTimeoutMs: 5_000,
  socketTimeoutMs: 10_000,
  maxConnections: 3,
} as const;

/**
 * The email channel over SMTP (nodemailer). Every send is one message to one recipient, sent as
 * multipart/alternative text and HTML with its own Message-ID and Date. How the server's answer
 * maps to an outcome is in smtpOutcome.ts.
 *
 * Throws `InvalidSmtpConfiguration` for a bad URL, sender or timeout; it never connects before the
 * first send.
 */
export function createSmtpChannel(options: SmtpChannelOptions): Channel<"email"> {
  const endpoint = parseSmtpUrl(options.url);
  const from = mailboxOption("from", options.from);
  const replyTo = options.replyTo === undefined ? undefined : mailboxOption("replyTo", options.replyTo);
  const socketTimeout = positiveInteger("socketTimeoutMs", options.socketTimeoutMs ?? defaults.socketTimeoutMs);

  const transportOptions: SMTPTransportOptions = {
    host: endpoint.host,
    port: endpoint.port,
    secure: endpoint.secure,
    auth: endpoint.auth === undefined ? undefined : { user: endpoint.auth.user, pass: endpoint.auth.pass },
    requireTLS: options.requireTls ?? false,
    connectionTimeout: positiveInteger("connectionTimeoutMs", options.connectionTimeoutMs ?? defaults.connectionTimeoutMs),
    greetingTimeout: positiveInteger("greetingTimeoutMs", options.greetingTimeoutMs ?? defaults.greetingTimeoutMs),
    socketTimeout,
    // After we end a connection (abort, close), a server that never closes its side is cut off
    // within a second instead of nodemailer's five.
    socketCloseTimeout: 1_000,
    tls: { ...options.tls },
    // The message is only ever our own strings; nothing in it may make nodemailer read a file or fetch a URL.
    disableFileAccess: true,
    disableUrlAccess: true,
    logger: false,
  };
  const transporter: Transporter<SMTPSentMessageInfo> =
    options.pool === false
      ? createTransport(transportOptions)
      : createTransport({
          ...transportOptions,
          pool: true,
          maxConnections: positiveInteger("maxConnections", options.maxConnections ?? defaults.maxConnections),
          // One retry on a fresh connection covers a pooled connection the server dropped while
          // idle; a server that drops every connection is the outbox's to retry, not the pool's.
          maxRequeues: 1,
          // Say goodbye before the socket timeout would report an idle connection as an error.
          idleTimeout: Math.max(1, Math.floor(socketTimeout / 2)),
        });
  // Only OAuth2 token refreshes are reported this way; every send reports through its own promise.
  transporter.on("error", () => undefined);

  const messageIdDomain = domainOf(from.address);
  const inFlight = new Set<Promise<DeliveryOutcome>>();
  let closed = false;

  async function deliver(message: EmailMessage, signal: AbortSignal): Promise<DeliveryOutcome> {
    // The RPC layer refuses bad addresses first; this guards the header and the envelope anyway.
    if (!isValidEmailAddress(message.to)) return { status: "rejected", reason: "invalid recipient address" };
    try {
      const info = await transporter.sendMail({
        from: asAddress(from),
        to: message.to,
        replyTo: replyTo === undefined ? undefined : asAddress(replyTo),
        subject: message.subject,
        text: message.text,
        html: message.html,
        messageId: `<${randomUUID()}@${messageIdDomain}>`,
        date: new Date(),
        // RFC 3834: out-of-office and other robots must not answer a code mail.
        headers: { "Auto-Submitted": "auto-generated" },
        signal,
      });
      return { status: "accepted", providerMessageId: info.messageId };
    } catch (error) {
      return outcomeOfSmtpError(error, signal);
    }
  }

  return {
    kind: "email",
    provider: "smtp",
    send(message, signal) {
      if (closed) return Promise.resolve({ status: "failed", reason: "channel closed" });
      if (signal.aborted) return Promise.resolve({ status: "failed", reason: abortReason(signal) });
      const sending = deliver(message, signal);
      inFlight.add(sending);
      const forget = (): void => void inFlight.delete(sending);
      sending.then(forget, forget);
      return sending;
    },
    async close() {
      closed = true;
      // Closes idle pooled connections now; a connection in the middle of a send closes once that
      // send ends, which its signal and the socket timeout bound.
      transporter.close();
      await Promise.allSettled(inFlight);
    },
  };
}

function mailboxOption(field: "from" | "replyTo", value: string): Mailbox {
  const mailbox = parseMailbox(value);
  if (mailbox === undefined) {
    throw new InvalidSmtpConfiguration(`${field} must be one address, e.g. "no-reply@example.com" or "onetime <no-reply@example.com>"`);
  }
  return mailbox;
}

function positiveInteger(field: string, value: number): number {
  if (!Number.isSafeInteger(value) || value <= 0) throw new InvalidSmtpConfiguration(`${field} must be a positive integer`);
  return value;
}

function asAddress(mailbox: Mailbox): string | { name: string; address: string } {
  return mailbox.name === "" ? mailbox.address : { name: mailbox.name, address: mailbox.address };
}
