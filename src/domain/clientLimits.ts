import type { KeyedHash } from "../crypto/keyedHash.js";
import { DomainError, retryAfterSeconds } from "../errors/domainError.js";
import type { Actor } from "./actor.js";
import type { SendLimits } from "./secrets/sendLimits.js";
import { unobservedRefusals, type SendRefusals } from "./secrets/sendRefusals.js";

export interface ClientLimit {
  /** Calls one public client address, or one user, may make per window; a positive integer. */
  readonly count: number;
  /** Fixed window, starting at the first call; a positive integer. */
  readonly windowMs: number;
}

/**
 * Per-caller limits of the calls anyone can make (AccountTokenService's public RPCs,
 * TokenService's OTT requests), kept in the send limits' store (Redis, or process memory
 * embedded): one atomic admit per call, one round trip. Services and admins are named by their
 * credentials and limited elsewhere; users count by their id, public callers by their network
 * address; the store sees either only as a keyed hash.
 */
export class ClientLimits {
  /**
   * @param name which calls this limiter counts; each limiter has its own windows, so one
   *   service's calls never use up another's limit.
   */
  constructor(
    private readonly limits: SendLimits,
    private readonly scopeOf: KeyedHash,
    private readonly name: string,
    private readonly limit: ClientLimit,
    private readonly refusals: SendRefusals = unobservedRefusals,
  ) {}

  async admit(actor: Actor): Promise<void> {
    if (actor.kind === "service" || actor.kind === "admin") return;
    const { count, windowMs } = this.limit;
    const decision = await this.limits.admit({
      // The name is in the scope, not only the bucket: the guess budget below is kept per scope,
      // shared by every bucket, and two limiters must not count each other's calls.
      scope: this.scopeOf(`${this.name}:${callerOf(actor)}`),
      bucket: this.name,
      sends: { limit: count, windowMs, firstResendDelayMs: 0, maxResendDelayMs: 0 },
      // The guess budget is the send limits' second counter; here it counts the same calls.
      guesses: { limit: count, windowMs, reserve: 1 },
    });
    if (decision.status === "admitted") return;
    const retryAfterMs = "retryAfterMs" in decision ? decision.retryAfterMs : windowMs;
    this.refusals.refused({ rule: "client_limit", channel: this.name, retryAfterMs });
    throw new ClientLimitReached(retryAfterMs);
  }
}

/**
 * Whom a call counts against: a signed-in user by its id, wherever it calls from (behind a NAT or
 * a proxy many users share one address, and one user may use many); anyone else by its client
 * network, so that one customer's many IPv6 addresses are one caller.
 */
function callerOf(actor: Actor): string {
  if (actor.kind === "user" && actor.subject !== undefined) return `user:${actor.subject}`;
  return `address:${actor.clientNetwork ?? "unknown"}`;
}

/** Too many calls from one client address, or by one user. */
export class ClientLimitReached extends DomainError {
  readonly kind = "resource_exhausted";
  readonly reason = "CLIENT_LIMIT_REACHED";
  override readonly metadata: Readonly<Record<string, string>>;
  constructor(retryAfterMs: number) {
    const seconds = retryAfterSeconds(retryAfterMs);
    super(`too many requests from this address or account; retry in ${seconds} s`);
    this.name = "ClientLimitReached";
    this.metadata = { retry_after_seconds: String(seconds), rule: "client_limit" };
  }
}
