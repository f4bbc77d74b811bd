import { beforeEach, describe, expect, it } from "vitest";
import type { Actor } from "../../../src/domain/actor.js";
import type { Verifications } from "../../../src/domain/verification/verificationService.js";
import { InvalidArgument } from "../../../src/errors/domainError.js";
import { domainHarness, type DomainHarness } from "../../support/domainHarness.js";

const service: Actor = { kind: "service", subject: "billing" };
const second = 1_000;

/** Verification rules on the domain harness: no sockets, and time moves when the test says. */
describe("Verifications (domain)", () => {
  let h: DomainHarness;
  let verifications: Verifications;
  beforeEach(async () => {
    h = await domainHarness();
    verifications = h.verifications({
      sends: { limit: 3, windowMs: 600 * second, firstResendDelayMs: 30 * second, maxResendDelayMs: 120 * second },
    });
  });

  it("keeps a code until its time to live and not after", async () => {
    const [alive, expired] = await Promise.all([
      verifications.initiate({ method: "email", consumer: "ttl-a@example.com", forcedCode: "220011", ttlMs: 2 * second }, service),
      verifications.initiate({ method: "email", consumer: "ttl-b@example.com", forcedCode: "220012", ttlMs: 2 * second }, service),
    ]);
    h.clock.advance(2 * second - 1);
    await expect(verifications.validate(alive.verification.id, "220011", { actor: service })).resolves.toMatchObject({ attempts: 1 });
    h.clock.advance(1);
    await expect(verifications.validate(expired.verification.id, "220012", { actor: service })).rejects.toMatchObject({
      reason: "VERIFICATION_NOT_FOUND",
    });
  });

  it("makes the wait between resends grow, then stops sending, and says when to retry", async () => {
    const consumer = "resend@example.com";
    const start = h.clock.now();
    const first = (await verifications.initiate({ method: "email", consumer }, service)).verification;
    expect(first.resendCount).toBe(0);
    expect(first.nextResendAt.getTime() - start).toBe(30 * second);
    await expect(verifications.initiate({ method: "email", consumer }, service)).rejects.toMatchObject({
      reason: "RESEND_TOO_SOON",
      metadata: { retry_after_seconds: "30" },
    });

    h.clock.advance(30 * second);
    const again = (await verifications.initiate({ method: "email", consumer }, service)).verification;
    expect(again.resendCount).toBe(1);
    expect(again.nextResendAt.getTime() - h.clock.now()).toBe(60 * second);

    h.clock.advance(60 * second);
    await verifications.initiate({ method: "email", consumer }, service);
    await expect(verifications.initiate({ method: "email", consumer }, service)).rejects.toMatchObject({
      reason: "SEND_LIMIT_REACHED",
      metadata: { retry_after_seconds: "510" },
    });
    // Each method has a send limit of its own.
    await expect(verifications.initiate({ method: "phone", consumer: "+14155550100" }, service)).resolves.toBeDefined();
    await h.deliver();
    expect(h.email.sent).toHaveLength(3);
    expect(h.sms.sent).toHaveLength(1);
  });

  it("lets only backends force a code", async () => {
    const user: Actor = { kind: "user", subject: "u-1" };
    const refused = await verifications.initiate({ method: "email", consumer: "forced@example.com", forcedCode: "123456" }, user).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(InvalidArgument);
    expect((refused as InvalidArgument).violations).toEqual([expect.objectContaining({ field: "policy.forced_code", rule: "principal" })]);
    await h.deliver();
    expect(h.email.sent).toEqual([]);
  });

  it("normalises the consumer before anything is charged, naming the field when it cannot", async () => {
    const { verification } = await verifications.initiate({ method: "email", consumer: "Ada@EXAMPLE.com", forcedCode: "654321" }, service);
    expect(verification.consumer).toBe("Ada@example.com");
    await expect(verifications.initiate({ method: "phone", consumer: "not a number" }, service)).rejects.toMatchObject({
      violations: [expect.objectContaining({ field: "consumer" })],
    });
    await expect(verifications.initiate({ method: "totp", consumer: "bad\u0007id" }, service)).rejects.toMatchObject({
      violations: [expect.objectContaining({ field: "consumer" })],
    });
  });

  it("shares limits between case variants of an address", async () => {
    await verifications.initiate({ method: "email", consumer: "Case@example.com" }, service);
    await expect(verifications.initiate({ method: "email", consumer: "case@EXAMPLE.com" }, service)).rejects.toMatchObject({
      reason: "RESEND_TOO_SOON",
    });
  });

  it("treats a retry with the same key and the same request as one, and another request as a reuse", async () => {
    const input = { method: "email" as const, consumer: "idem@example.com", payload: { a: 1, b: { c: 2 } }, idempotencyKey: "k-1" };
    const first = await verifications.initiate(input, service);
    const retry = await verifications.initiate({ ...input, payload: { b: { c: 2 }, a: 1 } }, service);
    expect(retry.verification.id).toBe(first.verification.id);
    await expect(verifications.initiate({ ...input, payload: { a: 2 } }, service)).rejects.toMatchObject({ reason: "IDEMPOTENCY_KEY_REUSED" });
    // Another caller's key never replays this one's answer.
    await expect(verifications.initiate(input, { kind: "service", subject: "other-backend" })).rejects.toMatchObject({ reason: "IDEMPOTENCY_KEY_REUSED" });
    await h.deliver();
    expect(h.email.sent).toHaveLength(1);
  });

  it("returns the verification on every read, never its code, and keeps it sealed at rest", async () => {
    const payload = { flow: "signup", name: "Ada Lovelace" };
    const { verification } = await verifications.initiate({ method: "email", consumer: "read@example.com", forcedCode: "777000", payload }, service);
    expect(await verifications.get(verification.id)).toMatchObject({ consumer: "read@example.com", payload, attempts: 0 });
    const stored = JSON.stringify(await h.pending.peek(`verification:${verification.id}`));
    expect(stored).not.toMatch(/read@example|Ada Lovelace|777000/);
    await verifications.invalidate(verification.id);
    await expect(verifications.get(verification.id)).rejects.toMatchObject({ reason: "VERIFICATION_NOT_FOUND" });
  });

  it("reports starts, wrong codes, lockouts, successes and unknown ids as events, never the code", async () => {
    const locked = (await verifications.initiate({ method: "email", consumer: "ev-a@example.com", forcedCode: "505050", maxAttempts: 1 }, service)).verification;
    const fine = (await verifications.initiate({ method: "phone", consumer: "+14155550111", forcedCode: "606060" }, service)).verification;
    await verifications.validate(locked.id, "000000", { actor: service }).catch(() => undefined);
    await verifications.validate(locked.id, "505050", { actor: service }).catch(() => undefined);
    await verifications.validate(fine.id, "606060", { actor: service });
    await verifications.validate(fine.id, "606060", { actor: service }).catch(() => undefined);
    expect(h.events).toEqual([
      { event: "initiated", verificationId: locked.id, method: "email" },
      { event: "initiated", verificationId: fine.id, method: "phone" },
      { event: "wrong_code", verificationId: locked.id, method: "email" },
      { event: "locked", verificationId: locked.id, method: "email" },
      { event: "validated", verificationId: fine.id, method: "phone" },
      { event: "not_found", verificationId: fine.id },
    ]);
    // An idempotent replay is not a new start.
    const input = { method: "email" as const, consumer: "ev-b@example.com", idempotencyKey: "ev" };
    await verifications.initiate(input, service);
    await verifications.initiate(input, service);
    expect(h.events.filter((entry) => entry.event === "initiated")).toHaveLength(3);
  });
});
