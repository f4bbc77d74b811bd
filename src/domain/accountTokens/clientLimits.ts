import type { KeyedHash } from "../../crypto/keyedHash.js";
import type { Actor } from "../actor.js";
import type { SendLimits } from "../secrets/sendLimits.js";
import { ClientLimitReached } from "./accountTokenErrors.js";

export interface ClientLimit {
  /** Calls one client address may make per window; a positive integer. */
  readonly count: number;
  /** Fixed window, starting at the first call; a positive integer. */
  readonly windowMs: number;
}

/**
 * Per-address limits of the public RPCs, kept in the send limits' store (Redis, or process memory
 * embedded): one atomic admit per call, one round trip. Services and admins are named by their
 * credentials and limited elsewhere; public callers and users count by their network address,
 * which the store sees only as a keyed hash.
 */
export class ClientLimits {
  constructor(
    private readonly limits: SendLimits,
    private readonly scopeOf: KeyedHash,
    private readonly limit: ClientLimit,
  ) {}

  async admit(actor: Actor): Promise<void> {
    if (actor.kind === "service" || actor.kind === "admin") return;
    const { count, windowMs } = this.limit;
    const decision = await this.limits.admit({
      scope: this.scopeOf(actor.clientAddress ?? "unknown"),
      bucket: "account-tokens",
      sends: { limit: count, windowMs, firstResendDelayMs: 0, maxResendDelayMs: 0 },
      // The guess budget is the send limits' second counter; here it counts the same calls.
      guesses: { limit: count, windowMs, reserve: 1 },
    });
    if (decision.status === "admitted") return;
    throw new ClientLimitReached("retryAfterMs" in decision ? decision.retryAfterMs : windowMs);
  }
}
