import type { IncomingHttpHeaders } from "node:http";
import { request } from "undici";
import type { DeliveryOutcome } from "../channel.js";

/** The answer's headers, by lower-case name; a repeated header reads as its first value. */
export interface AnswerHeaders {
  get(name: string): string | null;
}

/** What an HTTP provider answered, read in full (up to a cap) so the connection can be reused. */
export interface ProviderAnswer {
  readonly status: number;
  readonly headers: AnswerHeaders;
  /** The body as text, cut at `maxAnswerBytes`: enough for any id or error code. */
  readonly body: string;
}

export type ProviderExchange =
  | { readonly answered: true; readonly answer: ProviderAnswer }
  | { readonly answered: false; readonly outcome: Extract<DeliveryOutcome, { status: "failed" }> };

/** A provider that streams megabytes back is broken; the ids and codes we need are small. */
const maxAnswerBytes = 64 * 1024;

/**
 * One HTTP request to a provider, ending by whichever comes first: the answer, the caller's
 * `signal`, or our own `timeoutMs` (which covers reading the answer too). Anything short of an
 * answer becomes a `failed` outcome, so the outbox retries: the provider may or may not have
 * acted, and a one-time code sent twice is better than one never sent.
 */
export async function exchangeWithProvider(
  url: URL,
  init: { readonly method: string; readonly headers: Headers; readonly body: string },
  signal: AbortSignal,
  timeoutMs: number,
): Promise<ProviderExchange> {
  const timeout = AbortSignal.timeout(timeoutMs);
  try {
    // undici's request() rather than fetch(): the same client and connection pool without the
    // WHATWG streams and Request/Response objects, which made fetch a third of a send's CPU
    // (the bench's SMS round trip). It follows no redirect: a redirect means the URL is
    // misconfigured, and following it would resend credentials and the message elsewhere.
    const response = await request(url, {
      method: init.method as "POST",
      headers: Object.fromEntries(init.headers),
      body: init.body,
      signal: AbortSignal.any([signal, timeout]),
    });
    const body = await readCapped(response.body);
    return { answered: true, answer: { status: response.statusCode, headers: headersOf(response.headers), body } };
  } catch (error) {
    const reason = timeout.aborted
      ? `timed out after ${timeoutMs} ms`
      : signal.aborted
        ? "aborted before the provider answered"
        : `network error${describeNetworkError(error)}`;
    return { answered: false, outcome: { status: "failed", reason } };
  }
}

async function readCapped(body: AsyncIterable<Buffer> & { destroy(): unknown }): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.byteLength;
    if (size > maxAnswerBytes) {
      body.destroy();
      break;
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}

function headersOf(headers: IncomingHttpHeaders): AnswerHeaders {
  return {
    get(name) {
      const value = headers[name.toLowerCase()];
      return (Array.isArray(value) ? value[0] : value) ?? null;
    },
  };
}

/** The system's or undici's code (ECONNREFUSED, UND_ERR_SOCKET…), on the error or its cause. */
function describeNetworkError(error: unknown): string {
  if (typeof error === "object" && error !== null && "code" in error && typeof error.code === "string") return ` ${error.code}`;
  const cause = error instanceof Error ? error.cause : undefined;
  if (typeof cause === "object" && cause !== null && "code" in cause && typeof cause.code === "string") {
    return ` ${cause.code}`;
  }
  return error instanceof Error ? `: ${error.message}` : "";
}

/**
 * `Retry-After` as milliseconds from now: either delay-seconds or an HTTP date (RFC 9110 §10.2.3).
 * Undefined when absent or unreadable, so the outbox falls back to its own backoff.
 */
export function parseRetryAfter(header: string | null, now: number = Date.now()): number | undefined {
  if (header === null) return undefined;
  const value = header.trim();
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  // Every HTTP-date form starts with a day name; Date.parse alone would read "-5" as a year.
  if (!/^[A-Za-z]{3}/.test(value)) return undefined;
  const at = Date.parse(value);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now);
}

/** The answer as JSON, or undefined: a provider's error page is not our bug. */
export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** Follows a dotted path (`data.message.id`) through objects and arrays. */
export function valueAtPath(value: unknown, path: string): unknown {
  let current = value;
  for (const key of path.split(".")) {
    if (typeof current !== "object" || current === null || !Object.hasOwn(current, key)) return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}

/** Checks a configured base URL once, at construction, so a typo fails at startup. */
export function parseProviderUrl(value: string, option: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new Error(`${option} is not a URL`);
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") throw new Error(`${option} must be http or https`);
  return url;
}

/** Our own timeout must be positive and finite, or every send would fail or hang. */
export function checkTimeout(timeoutMs: number, option: string): number {
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new Error(`${option} must be a positive number`);
  return timeoutMs;
}
