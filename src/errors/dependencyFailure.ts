import { DependencyUnavailable } from "./domainError.js";

// Node socket errors, and Postgres SQLSTATEs for "the server cannot serve you right now":
// connection exceptions (class 08), admin/crash shutdown, starting up, too many connections.
const unreachableCodes = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "EHOSTUNREACH", "ENOTFOUND", "EAI_AGAIN", "57P01", "57P02", "57P03", "53300"]);
const connectionExceptionClass = /^08[0-9A-Z]{3}$/;
// RedisDeadlinePassed: a piece of work's Redis budget ran out (storage/workDeadline.ts).
const unreachableNames = new Set(["KnexTimeoutError", "MaxRetriesPerRequestError", "ClusterAllFailedError", "RedisDeadlinePassed"]);
// ioredis reports these in the message only: a closed connection, and Redis replies that mean
// "not now": loading its dataset, cluster reconfiguring, out of memory under `noeviction`, a
// replica that was a primary (failover), a key served by another node.
const unreachableMessages = [
  /connection is closed/i,
  /stream isn't writeable/i,
  /connection terminated/i,
  /command timed out/i,
  /^(LOADING|CLUSTERDOWN|TRYAGAIN|MASTERDOWN|OOM|READONLY|MOVED|ASK)\b/,
  // The Cluster client while it has no slot map, or chasing slots mid-failover.
  /^Cluster isn't ready/,
  /^Too many Cluster redirections/,
  /^None of startup nodes is available/,
];

/**
 * Recognises a backing store that could not be reached, so it surfaces as `unavailable` (retry
 * later, perhaps elsewhere) rather than as an internal error. Anything else stays a bug.
 */
export function asDependencyFailure(error: unknown): DependencyUnavailable | undefined {
  if (!(error instanceof Error)) return undefined;
  const code = (error as { code?: unknown }).code;
  const unreachable =
    (typeof code === "string" && (unreachableCodes.has(code) || connectionExceptionClass.test(code))) ||
    unreachableNames.has(error.name) ||
    unreachableMessages.some((pattern) => pattern.test(error.message));
  return unreachable ? new DependencyUnavailable("a backing store", { cause: error }) : undefined;
}
