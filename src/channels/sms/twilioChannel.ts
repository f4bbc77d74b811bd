import type { Channel, DeliveryOutcome } from "../channel.js";
import type { SmsMessage } from "../../domain/messages/outboundMessage.js";
import type { Logger } from "../../observability/logger.js";
import {
  checkTimeout,
  exchangeWithProvider,
  parseJson,
  parseProviderUrl,
  parseRetryAfter,
  type ProviderAnswer,
} from "../http/providerRequest.js";
import { recipientErrorCodes } from "./twilioErrorCodes.js";

interface TwilioChannelCommonOptions {
  /**
   * The API's origin, with any path prefix before `/2010-04-01`; default `https://api.twilio.com`.
   * Twilio-compatible providers (SignalWire's `https://{space}.signalwire.com/api/laml`, test
   * doubles) go here.
   */
  readonly baseUrl?: string;
  /** The account the messages are sent from (`AC…`); part of the URL path. Required. */
  readonly accountSid: string;
  /** Basic-auth user: an API key sid (`SK…`); default `accountSid` (then the password is the auth token). */
  readonly authUsername?: string;
  /** Basic-auth password: the account's auth token or the API key's secret. Required. */
  readonly authPassword: string;
  /** Gives up on a request after this long, answer included, and reports `failed`; default 5000 ms. */
  readonly timeoutMs?: number;
  /** The channel's `provider` in logs and metrics; default `twilio`. */
  readonly provider?: string;
  /** Where refused credentials and other misconfiguration are reported, at error. Required. */
  readonly logger: Logger;
}

/** Exactly one sender: `from` (E.164 number or alphanumeric sender id) or a messaging service. */
export type TwilioChannelOptions = TwilioChannelCommonOptions & (FromNumber | FromMessagingService);

interface FromNumber {
  /** Sent as `From`: one of the account's numbers or an alphanumeric sender id. */
  readonly from: string;
  readonly messagingServiceSid?: undefined;
}

interface FromMessagingService {
  /** Sent as `MessagingServiceSid` (`MG…`): Twilio picks the sender from the service's pool. */
  readonly messagingServiceSid: string;
  readonly from?: undefined;
}

/**
 * SMS through Twilio's Messages API or one that copies it: one form-encoded POST per message.
 *
 * Outcomes: 2xx is `accepted` with the message `sid`. A 4xx whose Twilio error code says the
 * recipient cannot be served (invalid, unsubscribed, landline… see twilioErrorCodes.ts) is
 * `rejected`. Everything else is `failed`, so the outbox retries and finally dead-letters:
 * 429 (with `Retry-After`), 5xx, timeouts and network errors because they pass; 401/403 and
 * other 4xx because they are our misconfiguration, not the recipient's fault, so marking the
 * recipient's message final would hide the problem. Those are also logged at error, since no
 * retry fixes them.
 */
export function createTwilioChannel(options: TwilioChannelOptions): Channel<"sms"> {
  const provider = options.provider ?? "twilio";
  const timeoutMs = checkTimeout(options.timeoutMs ?? 5000, "timeoutMs");
  const base = parseProviderUrl(options.baseUrl ?? "https://api.twilio.com", "baseUrl");
  if (options.accountSid === "") throw new Error("accountSid is required");
  if (options.authPassword === "") throw new Error("authPassword is required");
  const sender = senderField(options);
  const url = new URL(
    `${base.pathname.replace(/\/+$/, "")}/2010-04-01/Accounts/${encodeURIComponent(options.accountSid)}/Messages.json`,
    base,
  );
  const user = options.authUsername ?? options.accountSid;
  const authorization = `Basic ${Buffer.from(`${user}:${options.authPassword}`, "utf8").toString("base64")}`;
  const { logger } = options;

  return {
    kind: "sms",
    provider,
    async send(message: SmsMessage, signal: AbortSignal): Promise<DeliveryOutcome> {
      const body = new URLSearchParams({ To: message.to, [sender.name]: sender.value, Body: message.text });
      const headers = new Headers({
        authorization,
        "content-type": "application/x-www-form-urlencoded",
        accept: "application/json",
      });
      const request = { method: "POST", headers, body: body.toString() };
      const exchange = await exchangeWithProvider(url, request, signal, timeoutMs);
      if (!exchange.answered) return { ...exchange.outcome, reason: `${provider}: ${exchange.outcome.reason}` };
      const outcome = outcomeOf(exchange.answer, provider);
      if (outcome.misconfigured) {
        logger.error(
          { provider, status: exchange.answer.status, errorCode: twilioErrorCode(exchange.answer.body) },
          "SMS provider refused the request for a reason only configuration can fix; sends will keep failing",
        );
      }
      return outcome.outcome;
    },
    close: () => Promise.resolve(),
  };
}

function senderField(options: TwilioChannelOptions): { name: "From" | "MessagingServiceSid"; value: string } {
  const { from, messagingServiceSid } = options;
  if ((from === undefined || from === "") === (messagingServiceSid === undefined || messagingServiceSid === "")) {
    throw new Error("exactly one of from and messagingServiceSid is required");
  }
  return from !== undefined && from !== ""
    ? { name: "From", value: from }
    : { name: "MessagingServiceSid", value: messagingServiceSid ?? "" };
}

function outcomeOf(answer: ProviderAnswer, provider: string): { outcome: DeliveryOutcome; misconfigured: boolean } {
  const { status } = answer;
  if (status >= 200 && status < 300) {
    const sid = readSid(answer.body);
    const outcome: DeliveryOutcome =
      sid === undefined ? { status: "accepted" } : { status: "accepted", providerMessageId: sid };
    return { outcome, misconfigured: false };
  }
  const code = twilioErrorCode(answer.body);
  const described = code === undefined ? `HTTP ${status}` : `HTTP ${status}, error ${code}`;
  const recipientProblem = code === undefined ? undefined : recipientErrorCodes.get(code);
  if (status >= 400 && status < 500 && status !== 429 && recipientProblem !== undefined) {
    const reason = `${provider}: ${described} (${recipientProblem})`;
    return { outcome: { status: "rejected", reason }, misconfigured: false };
  }
  const reason =
    status === 429
      ? `${provider}: rate limited (${described})`
      : status === 401 || status === 403
        ? `${provider}: credentials refused (${described})`
        : `${provider}: ${described}`;
  const retryAfterMs = parseRetryAfter(answer.headers.get("retry-after"));
  const outcome: DeliveryOutcome =
    retryAfterMs === undefined ? { status: "failed", reason } : { status: "failed", reason, retryAfterMs };
  // 429 and 5xx pass. Any other answer (401/403, a 4xx about our sender or account, a redirect)
  // is ours to fix and no retry will.
  return { outcome, misconfigured: status !== 429 && status < 500 };
}

function readSid(body: string): string | undefined {
  const json = parseJson(body);
  if (typeof json === "object" && json !== null && "sid" in json && typeof json.sid === "string" && json.sid !== "") {
    return json.sid;
  }
  return undefined;
}

/** Twilio's error body is `{ code, message, more_info, status }`; only the numeric code is kept. */
function twilioErrorCode(body: string): number | undefined {
  const json = parseJson(body);
  if (typeof json === "object" && json !== null && "code" in json) {
    const code = typeof json.code === "string" ? Number(json.code) : json.code;
    if (typeof code === "number" && Number.isInteger(code)) return code;
  }
  return undefined;
}
