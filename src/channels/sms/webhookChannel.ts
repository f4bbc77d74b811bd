import type { Channel, DeliveryOutcome } from "../channel.js";
import type { SmsMessage } from "../../domain/messages/outboundMessage.js";
import type { Logger } from "../../observability/logger.js";
import { compileJsonBodyTemplate } from "./jsonBodyTemplate.js";
import {
  checkTimeout,
  exchangeWithProvider,
  parseJson,
  parseProviderUrl,
  parseRetryAfter,
  valueAtPath,
  type ProviderAnswer,
} from "../http/providerRequest.js";

export interface WebhookChannelOptions {
  /** Where each message goes; http or https. Required. */
  readonly url: string;
  /**
   * Request headers, e.g. `{ authorization: "Bearer …" }`; default none. `content-type` defaults to
   * `application/json` and may be overridden here.
   */
  readonly headers?: Readonly<Record<string, string>>;
  /**
   * The JSON body, with `{{to}}` and `{{text}}` inside string literals:
   * `{"to":"{{to}}","message":"{{text}}"}`. Values are JSON-escaped. Checked at construction. Required.
   */
  readonly bodyTemplate: string;
  /** HTTP method; default `POST`. */
  readonly method?: "POST" | "PUT" | "PATCH";
  /** Gives up on a request after this long, answer included, and reports `failed`; default 5000 ms. */
  readonly timeoutMs?: number;
  /** Dotted path to the provider's message id in a 2xx JSON answer, e.g. `data.id`; default none. */
  readonly messageIdPath?: string;
  /** The channel's `provider` in logs and metrics; default `webhook`. */
  readonly provider?: string;
  /** Where refused credentials and other misconfiguration are reported, at error. Required. */
  readonly logger: Logger;
}

/**
 * SMS through any HTTP endpoint that takes JSON: a provider without a dedicated adapter, or a
 * gateway of the deployer's own.
 *
 * Outcomes: 2xx is `accepted` (with the id at `messageIdPath` when there is one). 408, 429, 5xx,
 * timeouts and network errors are `failed`, with `Retry-After` when given. 401 and 403 are
 * `failed` too and logged at error: refused credentials are our misconfiguration, not the
 * recipient's, so they must not mark the message final. Any other 4xx is `rejected`: the
 * endpoint refused this recipient or this message.
 */
export function createWebhookChannel(options: WebhookChannelOptions): Channel<"sms"> {
  const provider = options.provider ?? "webhook";
  const url = parseProviderUrl(options.url, "url");
  const timeoutMs = checkTimeout(options.timeoutMs ?? 5000, "timeoutMs");
  const method = options.method ?? "POST";
  const template = compileJsonBodyTemplate(options.bodyTemplate);
  // Built once so an invalid header name or value fails at startup, not on the first send.
  const baseHeaders = new Headers({ "content-type": "application/json", accept: "application/json" });
  for (const [name, value] of Object.entries(options.headers ?? {})) baseHeaders.set(name, value);
  const { logger, messageIdPath } = options;

  return {
    kind: "sms",
    provider,
    async send(message: SmsMessage, signal: AbortSignal): Promise<DeliveryOutcome> {
      const body = template.render({ to: message.to, text: message.text });
      const request = { method, headers: new Headers(baseHeaders), body };
      const exchange = await exchangeWithProvider(url, request, signal, timeoutMs);
      if (!exchange.answered) return { ...exchange.outcome, reason: `${provider}: ${exchange.outcome.reason}` };
      const { outcome, misconfigured } = outcomeOf(exchange.answer, provider, messageIdPath);
      if (misconfigured) {
        logger.error(
          { provider, status: exchange.answer.status },
          "SMS webhook refused the request for a reason only configuration can fix; sends will keep failing",
        );
      }
      return outcome;
    },
    close: () => Promise.resolve(),
  };
}

function outcomeOf(
  answer: ProviderAnswer,
  provider: string,
  messageIdPath: string | undefined,
): { outcome: DeliveryOutcome; misconfigured: boolean } {
  const { status } = answer;
  if (status >= 200 && status < 300) {
    const id = messageIdPath === undefined ? undefined : readMessageId(answer.body, messageIdPath);
    const outcome: DeliveryOutcome =
      id === undefined ? { status: "accepted" } : { status: "accepted", providerMessageId: id };
    return { outcome, misconfigured: false };
  }
  const reason = `${provider}: HTTP ${status}`;
  if (status >= 400 && status < 500 && status !== 401 && status !== 403 && status !== 408 && status !== 429) {
    return { outcome: { status: "rejected", reason }, misconfigured: false };
  }
  const retryAfterMs = parseRetryAfter(answer.headers.get("retry-after"));
  const outcome: DeliveryOutcome =
    retryAfterMs === undefined ? { status: "failed", reason } : { status: "failed", reason, retryAfterMs };
  // 401/403 are refused credentials; 1xx/3xx mean the URL points somewhere it should not.
  const misconfigured = status === 401 || status === 403 || status < 200 || (status >= 300 && status < 400);
  return { outcome, misconfigured };
}

function readMessageId(body: string, path: string): string | undefined {
  const value = valueAtPath(parseJson(body), path);
  if (typeof value === "string" && value !== "") return value;
  if (typeof value === "number" && Number.isFinite(value)) return String(value);
  return undefined;
}
