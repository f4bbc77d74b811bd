import type { Actor } from "../actor.js";
import type { IssuedToken } from "./accountToken.js";
import { AccountTokenNotFound } from "./accountTokenErrors.js";
import type { AccountTokenDependencies } from "./accountTokenDependencies.js";
import type { AuthTokenView } from "./accountTokenStore.js";
import type { AuthTokenChange } from "./authTokenSignals.js";
import { authTokenOf, newPairing } from "./deviceSecret.js";
import { nextSignal } from "./nextSignal.js";

/** A new auth token, to show, and the device secret it was made from, to keep (see Pairing). */
export interface IssuedAuthToken extends IssuedToken {
  readonly deviceSecret: string;
}

export type RedeemAnswer = { readonly state: "pending" } | { readonly state: "redeemed"; readonly accountId: string };

/**
 * Seed 003's auth tokens, for pairing a device with an account: the device creates one and shows
 * it, a signed-in account attaches it, the device redeems it once for the account id. Redeem and
 * watch take the device secret the token was made from, never the token: what the screen shows
 * attaches, and only the device that keeps the secret collects (see Pairing). Any other secret,
 * the shown token among them, makes a token no row has: it reads as an unknown token and changes
 * nothing, by construction. The device may watch instead of polling: a watch holds no Postgres
 * connection while it waits, only a listener on the signals, which an attach on any instance
 * fires; it reads the store once, when it starts.
 */
export class AuthTokens {
  constructor(private readonly deps: AccountTokenDependencies) {}

  async create(actor: Actor): Promise<IssuedAuthToken> {
    const { clientLimits, store, tokenHash, rules } = this.deps;
    await clientLimits.admit(actor);
    const { token, deviceSecret } = newPairing();
    const record = await store.create({ kind: "auth", tokenHash: tokenHash(token), ttlMs: rules.ttlMs.auth }, actor);
    return { token, deviceSecret, expiresAt: record.expiresAt };
  }

  async attach(token: string, actor: Actor & { readonly subject: string }): Promise<{ readonly attachedAt: Date }> {
    const { clientLimits, store, tokenHash, signals, logger } = this.deps;
    await clientLimits.admit(actor);
    const hash = tokenHash(token);
    const record = await store.attach(hash, actor.subject, actor);
    if (record?.attachedAt === undefined) throw new AccountTokenNotFound();
    // The attach stands without the signal: a watcher that misses it still ends at expiry, and
    // a redeem works regardless.
    await signals.notify(hash, "attached").catch((error: unknown) => logger.warn({ err: error }, "could not signal an auth token attach"));
    return { attachedAt: record.attachedAt };
  }

  async redeem(deviceSecret: string, actor: Actor): Promise<RedeemAnswer> {
    const { clientLimits, store, tokenHash } = this.deps;
    await clientLimits.admit(actor);
    const outcome = await store.redeem(tokenHash(authTokenOf(deviceSecret)), actor);
    if (outcome.status === "not_found") throw new AccountTokenNotFound();
    return outcome.status === "pending" ? { state: "pending" } : { state: "redeemed", accountId: outcome.accountId };
  }

  /**
   * The token's state now, then each change until it is no longer pending (attached, expired,
   * used or revoked), the last message. Ends early, quietly, when `signal` aborts (the caller left).
   */
  async *watch(deviceSecret: string, actor: Actor, signal: AbortSignal): AsyncGenerator<AuthTokenView> {
    const { clientLimits, store, tokenHash, signals } = this.deps;
    await clientLimits.admit(actor);
    const hash = tokenHash(authTokenOf(deviceSecret));
    // Listening before the first read: an attach between the read and the listen would be missed.
    const wakes = nextSignal<AuthTokenChange | undefined>((listener) => signals.listen(hash, listener));
    try {
      const first = await store.authState(hash);
      if (first === null || first.state === "used" || first.state === "revoked" || first.state === "expired") throw new AccountTokenNotFound();
      let view: AuthTokenView = first;
      yield view;
      while (view.state === "pending") {
        const woken = await wakes.wait(view.expiresAt.getTime() - Date.now(), signal);
        if (woken === "aborted") return;
        // The signal says what happened; only a reconnect (no payload) needs the store read again.
        const current: AuthTokenView | null =
          woken === "timeout"
            ? { state: "expired", expiresAt: view.expiresAt }
            : woken.payload === undefined
              ? await store.authState(hash)
              : { state: woken.payload, expiresAt: view.expiresAt };
        const next: AuthTokenView = current ?? { state: "revoked", expiresAt: view.expiresAt };
        if (next.state !== view.state) yield next;
        view = next;
      }
    } finally {
      wakes.close();
    }
  }
}
