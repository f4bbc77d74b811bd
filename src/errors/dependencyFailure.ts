import { DependencyUnavailable } from "./domainError.js";

// Node socket errors and the client libraries' own "cannot reach the server" errors.
const networkCodes = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "EHOSTUNREACH", "ENOTFOUND", "EAI_AGAIN"]);
const unreachableNames = new Set(["KnexTimeoutError", "MaxRetriesPerRequestError"]);
const unreachableMessages = [/connection is closed/i, /stream isn't writeable/i, /connection terminated/i, /command timed out/i];

/**
 * Recognises a backing store that could not be reached, so it surfaces as `unavailable` (retry
 * later, perhaps elsewhere) rather than as an internal error. Anything else stays a bug.
 */
export function asDependencyFailure(error: unknown): DependencyUnavailable | undefined {
  if (!(error instanceof Error)) return undefined;
  const code = (error as { code?: unknown }).code;
  const unreachable =
    (typeof code === "string" && networkCodes.has(code)) ||
    unreachableNames.has(error.name) ||
    unreachableMessages.some((pattern) => pattern.test(error.message));
  return unreachable ? new DependencyUnavailable("a backing store", { cause: error }) : undefined;
}
