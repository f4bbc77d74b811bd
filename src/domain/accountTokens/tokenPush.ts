import type { PushTarget } from "../destinations/pushTarget.js";
import { InvalidArgument } from "../../errors/domainError.js";
import type { Actor } from "../actor.js";
import { generateAccountToken, type PushedKind } from "./accountToken.js";
import { AccountTokenNotFound, DeviceLimitReached, PushFailed, TokenAlreadySent } from "./accountTokenErrors.js";
import type { AccountTokenDependencies, AccountTokenRules } from "./accountTokenDependencies.js";
import { expiresInMinutes } from "../expiresInMinutes.js";

/**
 * Seed 003's send-by-push, for account creation and recovery tokens: a token exists for a device
 * only while no other of its kind is valid there and within the device's limit, and is usable only
 * once the push went out. The push is sent synchronously because the caller must learn whether it
 * did (the seed's 503); the token waits in state `sending` meanwhile, unusable, so a failed or
 * interrupted push can leave nothing anyone could use. No Postgres connection is held during it.
 */
export class TokenPush {
  constructor(private readonly deps: AccountTokenDependencies) {}

  async send(kind: PushedKind, device: PushTarget, actor: Actor): Promise<{ readonly expiresAt: Date }> {
    const { clientLimits, store, tokenHash, deviceHash, rules, templates, delivery, logger } = this.deps;
    // Before anything is charged, as the field rules are.
    checkApnsTopic(device, rules.apnsTopics);
    await clientLimits.admit(actor);
    const token = generateAccountToken();
    const ttlMs = rules.ttlMs[kind];
    const reservation = await store.reserveForPush(
      { kind, tokenHash: tokenHash(token), ttlMs, deviceHash: deviceHash(`${device.provider}:${device.deviceToken}`) },
      rules.device,
      actor,
    );
    if (reservation.status === "already_sent") throw new TokenAlreadySent();
    if (reservation.status === "device_limit") throw new DeviceLimitReached();
    const { record } = reservation;
    const parts = templates.render(kind, "push", undefined, { code: token, expiresInMinutes: expiresInMinutes(ttlMs) });
    const outcome = await delivery.sendNow({ kind: "push", to: device, ...parts, data: { kind, token } }, rules.pushTimeoutMs, record.id);
    if (outcome.status === "accepted" && (await store.markSent(record.id, actor))) return { expiresAt: record.expiresAt };
    // A token left `sending` is unusable anyway; revoking it records why, and frees the device.
    await store.cancelSend(record.id, actor).catch((error: unknown) => logger.warn({ err: error, tokenId: record.id }, "could not revoke the token of a failed push"));
    throw new PushFailed();
  }

  /** What the recovery page does with its token: spends it, once. */
  async useRecoveryToken(token: string, actor: Actor): Promise<{ readonly usedAt: Date }> {
    const { clientLimits, store, tokenHash } = this.deps;
    await clientLimits.admit(actor);
    const record = await store.use("account_recovery", tokenHash(token), undefined, actor);
    if (record?.usedAt === undefined) throw new AccountTokenNotFound();
    return { usedAt: record.usedAt };
  }
}

/**
 * Anonymous callers name the APNs topic (pn_param), and our key signs for every app of the team:
 * only the topics the operator listed may be notified, or anyone could have a token pushed, in
 * our name, to another of the team's apps. FCM ignores pn_param.
 */
function checkApnsTopic(device: PushTarget, topics: AccountTokenRules["apnsTopics"]): void {
  if (topics === undefined || device.param === undefined || device.provider === "fcm") return;
  if (device.param === topics.default || topics.allowed.includes(device.param)) return;
  throw InvalidArgument.field("device.pn_param", "in", "names an APNs topic this server does not send to (omit it for the app's default topic)");
}
