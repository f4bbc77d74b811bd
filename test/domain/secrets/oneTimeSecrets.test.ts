import { beforeEach, describe, expect, it } from "vitest";
import type { EmailMessage } from "../../../src/domain/messages/outboundMessage.js";
import type { IssueRequest } from "../../../src/domain/secrets/oneTimeSecrets.js";
import { IdempotencyKeyReused, SendRefused } from "../../../src/domain/secrets/secretErrors.js";
import type { PendingSecrets } from "../../../src/domain/secrets/pendingSecrets.js";
import type { SendLimits } from "../../../src/domain/secrets/sendLimits.js";
import { StoreWork } from "../../../src/domain/storeWork.js";
import { loadConfig } from "../../../src/config/config.js";
import { capturingLogger } from "../../support/capturingLogger.js";
import { domainHarness, type DomainHarness } from "../../support/domainHarness.js";

/**
 * The life of a one-time secret, on the domain harness: memory stores, a clock the test moves, a
 * channel that records. Each case names the rule it checks.
 */
describe("OneTimeSecrets", () => {
  let h: DomainHarness;
  beforeEach(async () => {
    h = await domainHarness();
  });

  const minute = 60_000;
  let counter = 0;

  /** An email code for `to`, under a fresh key unless one is given. */
  function request(to: string, code: string, extra: Partial<IssueRequest<string>> = {}): IssueRequest<string> {
    const key = extra.key ?? `test:${counter++}`;
    return {
      key,
      recipient: to,
      channel: "email",
      pool: "account",
      ttlMs: 10 * minute,
      maxAttempts: 3,
      sends: { limit: 3, windowMs: 60 * minute, firstResendDelayMs: minute, maxResendDelayMs: 4 * minute },
      guesses: { limit: 7, windowMs: 60 * minute },
      whenTaken: "replace",
      code,
      record: (grant) => JSON.stringify({ to, maxAttempts: grant.maxAttempts }),
      message: () => ({ message: email(to, code), template: "test", reference: key }),
      answer: () => key,
      replay: { encode: (answer) => answer, decode: (encoded) => encoded },
      ...extra,
    };
  }

  it("delivers the code with its message and redeems it exactly once", async () => {
    const key = await h.secrets.issue(request("ada@example.com", "482913"));
    expect(await h.deliver()).toBe(1);
    expect(h.email.sent.map((message) => message.text)).toEqual(["code 482913"]);
    const redeemed = await h.secrets.redeem(key, "482913");
    expect(redeemed).toMatchObject({ status: "redeemed", attempts: 1 });
    expect(JSON.parse((redeemed as { record: string }).record)).toEqual({ to: "ada@example.com", maxAttempts: 3 });
    expect(await h.secrets.redeem(key, "482913")).toEqual({ status: "missing" });
  });

  it("puts a redeemed secret back as it was on undo: same code, the guesses and the time it had left", async () => {
    const key = await h.secrets.issue(request("undo@example.com", "424242"));
    expect(await h.secrets.redeem(key, "000000")).toMatchObject({ status: "wrong", attemptsLeft: 2 });
    h.clock.advance(4 * minute);
    const redeemed = await h.secrets.redeem(key, "424242");
    if (redeemed.status !== "redeemed") throw new Error("not redeemed");
    expect(await redeemed.undo()).toBe(true);
    // One wrong guess was spent before the redemption: two are left, as they were.
    expect(await h.secrets.redeem(key, "000001")).toMatchObject({ status: "wrong", attemptsLeft: 1 });
    expect(await h.secrets.redeem(key, "000002")).toMatchObject({ status: "wrong", attemptsLeft: 0 });
    expect(await h.secrets.redeem(key, "424242")).toMatchObject({ status: "locked" });

    const again = await h.secrets.issue(request("undo2@example.com", "515151"));
    h.clock.advance(4 * minute);
    const second = await h.secrets.redeem(again, "515151");
    if (second.status !== "redeemed") throw new Error("not redeemed");
    // The time between redeeming and undoing counts too.
    h.clock.advance(minute);
    expect(await second.undo()).toBe(true);
    // Back with the 5 minutes it had left, not a fresh 10, nor the 6 it had when redeemed.
    h.clock.advance(5 * minute + 1);
    expect(await h.secrets.redeem(again, "515151")).toEqual({ status: "missing" });
  });

  it("does not put a redeemed secret back over a newer one", async () => {
    const key = await h.secrets.issue(request("newer@example.com", "616161", { key: "test:newer" }));
    const redeemed = await h.secrets.redeem(key, "616161");
    if (redeemed.status !== "redeemed") throw new Error("not redeemed");
    h.clock.advance(2 * minute);
    await h.secrets.issue(request("newer@example.com", "717171", { key: "test:newer" }));
    expect(await redeemed.undo()).toBe(false);
    expect(await h.secrets.redeem(key, "616161")).toMatchObject({ status: "wrong" });
    expect(await h.secrets.redeem(key, "717171")).toMatchObject({ status: "redeemed" });
  });

  it("counts every wrong code, then locks so that even the right one fails", async () => {
    const key = await h.secrets.issue(request("bob@example.com", "111111"));
    expect(await h.secrets.redeem(key, "000000")).toMatchObject({ status: "wrong", attemptsLeft: 2 });
    expect(await h.secrets.redeem(key, "000001")).toMatchObject({ status: "wrong", attemptsLeft: 1 });
    expect(await h.secrets.redeem(key, "000002")).toMatchObject({ status: "wrong", attemptsLeft: 0 });
    expect(await h.secrets.redeem(key, "111111")).toMatchObject({ status: "locked" });
  });

  it("forgets an expired code and never sends its message", async () => {
    const key = await h.secrets.issue(request("cy@example.com", "222222"));
    h.clock.advance(10 * minute);
    expect(await h.deliver()).toBe(0);
    expect(h.email.sent).toEqual([]);
    expect(await h.secrets.redeem(key, "222222")).toEqual({ status: "missing" });
  });

  it("keeps a code until its time to live is over", async () => {
    const key = await h.secrets.issue(request("dee@example.com", "333333"));
    h.clock.advance(10 * minute - 1);
    expect(await h.secrets.redeem(key, "333333")).toMatchObject({ status: "redeemed" });
  });

  it("sends nothing for a code redeemed or revoked before its message went out", async () => {
    const redeemed = await h.secrets.issue(request("eve@example.com", "444444"));
    const revoked = await h.secrets.issue(request("fay@example.com", "555555"));
    await h.secrets.redeem(redeemed, "444444");
    expect(await h.secrets.revoke(revoked)).toBe(true);
    expect(await h.deliver()).toBe(0);
    expect(h.email.sent).toEqual([]);
  });

  it("replaces a live code: the old one stops working and its message is never sent", async () => {
    await h.secrets.issue(request("gus@example.com", "666661", { key: "test:replaced" }));
    h.clock.advance(minute);
    await h.secrets.issue(request("gus@example.com", "666662", { key: "test:replaced" }));
    await h.deliver();
    expect(h.email.sent.map((message) => message.text)).toEqual(["code 666662"]);
    expect(await h.secrets.redeem("test:replaced", "666661")).toMatchObject({ status: "wrong" });
    expect(await h.secrets.redeem("test:replaced", "666662")).toMatchObject({ status: "redeemed" });
  });

  it("refuses to overwrite a live code when told so, charging nothing", async () => {
    const taken = () => new Error("taken");
    await h.secrets.issue(request("hal@example.com", "777771", { key: "test:once", whenTaken: taken }));
    h.clock.advance(minute);
    await expect(h.secrets.issue(request("hal@example.com", "777772", { key: "test:once", whenTaken: taken }))).rejects.toThrow("taken");
    expect(await h.secrets.redeem("test:once", "777771")).toMatchObject({ status: "redeemed" });
    // The refused issue gave back its guesses: 7 in the budget, 3 reserved by the first.
    h.clock.advance(2 * minute);
    const grants: number[] = [];
    await h.secrets.issue(request("hal@example.com", "777773", { record: (grant) => String(grants.push(grant.maxAttempts)) }));
    expect(grants).toEqual([3]);
  });

  it("makes each resend wait longer, then stops sending until the window ends", async () => {
    const to = "ivy@example.com";
    const first: number[] = [];
    await h.secrets.issue(request(to, "100001", { record: (grant) => String(first.push(grant.nextSendAt.getTime() - grant.issuedAt.getTime())) }));
    expect(first).toEqual([minute]);
    await expect(h.secrets.issue(request(to, "100002"))).rejects.toMatchObject({ reason: "RESEND_TOO_SOON", retryAfterMs: minute });
    h.clock.advance(minute);
    await h.secrets.issue(request(to, "100003"));
    h.clock.advance(minute);
    await expect(h.secrets.issue(request(to, "100004"))).rejects.toMatchObject({ reason: "RESEND_TOO_SOON", retryAfterMs: minute });
    h.clock.advance(minute);
    await h.secrets.issue(request(to, "100005"));
    const refused = await h.secrets.issue(request(to, "100006")).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(SendRefused);
    expect(refused).toMatchObject({ reason: "SEND_LIMIT_REACHED", retryAfterMs: 57 * minute });
    h.clock.advance(57 * minute);
    await expect(h.secrets.issue(request(to, "100007"))).resolves.toBeDefined();
  });

  it("shares one guess budget across channels: new codes buy no more guesses", async () => {
    const to = "jo@example.com";
    const granted: number[] = [];
    const track = { record: (grant: { maxAttempts: number }) => String(granted.push(grant.maxAttempts)) };
    await h.secrets.issue(request(to, "200001", { ...track, channel: "email" }));
    await h.secrets.issue(request(to, "200002", { ...track, channel: "sms" }));
    await h.secrets.issue(request(to, "200003", { ...track, channel: "push" }));
    expect(granted).toEqual([3, 3, 1]);
    await expect(h.secrets.issue(request(to, "200004", { channel: "other" }))).rejects.toMatchObject({ reason: "GUESS_BUDGET_EXHAUSTED" });
  });

  it("keeps the public pool's guesses apart from the account pool's: public codes never spend a login's", async () => {
    const to = "pool@example.com";
    // The public pool runs dry (7 guesses, 3 a code)…
    await h.secrets.issue(request(to, "210001", { pool: "public" }));
    await h.secrets.issue(request(to, "210002", { pool: "public", channel: "sms" }));
    await h.secrets.issue(request(to, "210003", { pool: "public", channel: "push" }));
    await expect(h.secrets.issue(request(to, "210004", { pool: "public", channel: "other" }))).rejects.toMatchObject({ reason: "GUESS_BUDGET_EXHAUSTED" });
    // …and the account pool still grants a whole code's worth.
    let granted = 0;
    await h.secrets.issue(request(to, "210005", { record: (grant) => String((granted = grant.maxAttempts)) }));
    expect(granted).toBe(3);
  });

  it("stops issuing public codes after a run of wrong guesses, giving a code near the ceiling only the guesses left", async () => {
    const granted: number[] = [];
    const publicRequest = (to: string, code: string) =>
      request(to, code, {
        pool: "public",
        guesses: { limit: 100, windowMs: 60 * minute, streak: { limit: 4, windowMs: 30 * minute } },
        sends: { limit: 100, windowMs: minute, firstResendDelayMs: 0, maxResendDelayMs: 0 },
        record: (grant) => String(granted.push(grant.maxAttempts)),
      });
    const to = "streak@example.com";
    const first = await h.secrets.issue(publicRequest(to, "220001"));
    for (const guess of ["000001", "000002", "000003"]) expect(await h.secrets.redeem(first, guess)).toMatchObject({ status: "wrong" });
    // Locked answers compare nothing: they do not run on.
    expect(await h.secrets.redeem(first, "000004")).toMatchObject({ status: "locked" });
    const second = await h.secrets.issue(publicRequest(to, "220002"));
    expect(granted).toEqual([3, 1]);
    expect(await h.secrets.redeem(second, "000005")).toMatchObject({ status: "wrong", attemptsLeft: 0 });
    await expect(h.secrets.issue(publicRequest(to, "220003"))).rejects.toMatchObject({ reason: "TOO_MANY_FAILED_GUESSES", metadata: { rule: "guess_streak" } });
    expect(h.refusals.at(-1)).toMatchObject({ rule: "guess_streak", channel: "email" });
    h.clock.advance(30 * minute);
    await expect(h.secrets.issue(publicRequest(to, "220004"))).resolves.toBeDefined();
  });

  it("ends a run of wrong guesses with a right one", async () => {
    const to = "right@example.com";
    const publicRequest = (code: string) => request(to, code, { pool: "public", guesses: { limit: 100, windowMs: 60 * minute, streak: { limit: 4, windowMs: 30 * minute } }, sends: { limit: 100, windowMs: minute, firstResendDelayMs: 0, maxResendDelayMs: 0 } });
    const first = await h.secrets.issue(publicRequest("230001"));
    for (const guess of ["000001", "000002"]) expect(await h.secrets.redeem(first, guess)).toMatchObject({ status: "wrong" });
    expect(await h.secrets.redeem(first, "230001")).toMatchObject({ status: "redeemed" });
    const second = await h.secrets.issue(publicRequest("230002"));
    for (const guess of ["000003", "000004"]) expect(await h.secrets.redeem(second, guess)).toMatchObject({ status: "wrong" });
    // Two and two, with a right one between: never four in a row.
    await expect(h.secrets.issue(publicRequest("230003"))).resolves.toBeDefined();
  });

  it("refuses a premium-rate number before anything is charged, and says so to operators", async () => {
    await expect(h.secrets.issue(request("+449098790000", "230001", { medium: "sms", channel: "sms" }))).rejects.toMatchObject({
      reason: "DESTINATION_NOT_ALLOWED",
      metadata: { country: "GB", number_type: "premium_rate" },
    });
    expect(h.refusals.at(-1)).toEqual({ rule: "destination_number_type", channel: "sms", country: "GB" });
    expect(h.limits.size).toBe(0);
  });

  it("refuses SMS to a prefix whose codes are never used, and lets it through again once they are", async () => {
    const traffic = loadConfig({ SMS_CONVERSION_PREFIX_MIN_SENDS: "3", SMS_CONVERSION_MIN_RATIO: "0.5", SMS_PREFIX_HOURLY_LIMIT: "0" }).traffic;
    const guarded = await domainHarness({ traffic });
    const sms = (n: number, code: string) =>
      request(`+4474001000${String(n).padStart(2, "0")}`, code, { medium: "sms", channel: "sms", pool: "public", message: undefined });
    const keys = [await guarded.secrets.issue(sms(1, "240001")), await guarded.secrets.issue(sms(2, "240002")), await guarded.secrets.issue(sms(3, "240003"))];
    await expect(guarded.secrets.issue(sms(4, "240004"))).rejects.toMatchObject({ reason: "CONVERSION_TOO_LOW", metadata: { rule: "prefix_conversion", country: "GB" } });
    expect(guarded.refusals.at(-1)).toMatchObject({ rule: "prefix_conversion", channel: "sms", country: "GB" });
    // Two of three used: two thirds is above a half.
    expect(await guarded.secrets.redeem(keys[0]!, "240001")).toMatchObject({ status: "redeemed" });
    expect(await guarded.secrets.redeem(keys[1]!, "240002")).toMatchObject({ status: "redeemed" });
    await expect(guarded.secrets.issue(sms(5, "240005"))).resolves.toBeDefined();
  });

  it("answers a retry with the same idempotency key from the first answer and sends once", async () => {
    const idempotency = { key: "retry-1", fingerprint: "same" };
    const first = await h.secrets.issue(request("kim@example.com", "300001", { idempotency }));
    const retry = await h.secrets.issue(request("kim@example.com", "300002", { idempotency }));
    expect(retry).toBe(first);
    await h.deliver();
    expect(h.email.sent.map((message) => message.text)).toEqual(["code 300001"]);
    await expect(h.secrets.issue(request("kim@example.com", "300003", { idempotency: { key: "retry-1", fingerprint: "other" } }))).rejects.toBeInstanceOf(
      IdempotencyKeyReused,
    );
  });

  it("undoes a failed issue: the code is gone, its message never sent, its guesses and idempotency key given back", async () => {
    const idempotency = { key: "fails-once", fingerprint: "f" };
    const failing = request("lu@example.com", "400001", {
      key: "test:fails",
      idempotency,
      answer: () => {
        throw new Error("enrolment failed");
      },
    });
    await expect(h.secrets.issue(failing)).rejects.toThrow("enrolment failed");
    expect(await h.secrets.peek("test:fails")).toBeNull();
    expect(await h.deliver()).toBe(0);
    // The retry runs again (the key was released) and gets the full three guesses back.
    h.clock.advance(minute);
    const granted: number[] = [];
    await h.secrets.issue(request("lu@example.com", "400002", { idempotency, record: (grant) => String(granted.push(grant.maxAttempts)) }));
    expect(granted).toEqual([3]);
  });

  it("gives back the send of a failed issue: no resend wait, and the send window is not used up", async () => {
    const to = "oz@example.com";
    const failing = {
      answer: (): string => {
        throw new Error("enrolment failed");
      },
    };
    await expect(h.secrets.issue(request(to, "600001", failing))).rejects.toThrow("enrolment failed");
    const taken = () => new Error("taken");
    await h.secrets.issue(request("other@example.com", "600002", { key: "test:held" }));
    await expect(h.secrets.issue(request(to, "600003", { key: "test:held", whenTaken: taken }))).rejects.toThrow("taken");
    // Neither failure sent anything, so the next issue is this window's first send, at once.
    const sendNumbers: number[] = [];
    await h.secrets.issue(request(to, "600004", { record: (grant) => String(sendNumbers.push(grant.sendNumber)) }));
    expect(sendNumbers).toEqual([1]);
  });

  /** The memory store, except that each put does `before` and then, having stored or not, throws. */
  function putThrows(before: "store" | "nothing"): (pending: PendingSecrets) => PendingSecrets {
    return (pending) => ({
      put: async (...args) => {
        if (before === "store") await pending.put(...args);
        // What ioredis reports when a command times out or the connection resets mid-script.
        throw new Error("Command timed out");
      },
      take: (...args) => pending.take(...args),
      peek: (...args) => pending.peek(...args),
      revoke: (...args) => pending.revoke(...args),
      close: () => pending.close(),
    });
  }

  it("undoes a put whose answer was lost: the stored code is gone and its message never sent", async () => {
    const lossy = await domainHarness({ wrapPending: putThrows("store") });
    await expect(lossy.secrets.issue(request("mo@example.com", "500001", { key: "test:lost" }))).rejects.toThrow("Command timed out");
    expect(await lossy.pending.peek("test:lost")).toBeNull();
    expect(await lossy.deliver()).toBe(0);
    expect(lossy.email.sent).toEqual([]);
  });

  it("undoes a put whose answer was lost without removing a live code another request stored", async () => {
    const lossy = await domainHarness({ wrapPending: putThrows("nothing") });
    const taken = () => new Error("taken");
    await lossy.pending.put("test:theirs", { hash: "h", maxAttempts: 3, data: "theirs" }, 10 * minute);
    await expect(lossy.secrets.issue(request("ned@example.com", "500002", { key: "test:theirs", whenTaken: taken }))).rejects.toThrow("Command timed out");
    expect((await lossy.pending.peek("test:theirs"))?.data).toBe("theirs");
  });

  it("keeps the send charged when the undo of a lost put fails too, since the code may be out", async () => {
    const stuck = await domainHarness({
      wrapPending: (pending) => ({
        ...putThrows("store")(pending),
        revoke: async () => {
          throw new Error("Connection is closed.");
        },
      }),
    });
    const to = "ola@example.com";
    await expect(stuck.secrets.issue(request(to, "700001", { key: "test:stuck" }))).rejects.toThrow("Command timed out");
    // The code did get stored and its revoke failed: the next code to this address waits.
    await expect(stuck.secrets.issue(request(to, "700002"))).rejects.toMatchObject({ reason: "RESEND_TOO_SOON" });
  });

  it("says once, at warn, what a failed issue could not undo and leaves to expire", async () => {
    const captured = capturingLogger("info");
    const gone = () => {
      throw new Error("Redis did not answer within the call's 2000 ms (REDIS_TIMEOUT_MS)");
    };
    const stuck = await domainHarness({
      logger: captured.logger,
      wrapPending: (pending) => ({ ...putThrows("store")(pending), revoke: async () => gone() }),
    });
    stuck.limits.refund = async () => gone();
    stuck.limits.releaseIdempotency = async () => gone();
    await expect(stuck.secrets.issue(request("pat@example.com", "700003", { idempotency: { key: "left-1", fingerprint: "f" } }))).rejects.toThrow("Command timed out");
    expect(captured.records.filter((record) => record.level === "warn")).toMatchObject([
      { msg: "a failed issue could not be undone; what it left expires by itself", left: ["secret, if it was stored, with its message", "guesses", "idempotency lease"], channel: "email" },
    ]);
  });

  it("says nothing of an undo that went through", async () => {
    const captured = capturingLogger("info");
    const lossy = await domainHarness({ logger: captured.logger, wrapPending: putThrows("store") });
    await expect(lossy.secrets.issue(request("quin@example.com", "700004"))).rejects.toThrow("Command timed out");
    expect(captured.records.filter((record) => record.level === "warn")).toEqual([]);
  });

  it("gives a failed issue's undo the work of its admit and put, and a redeem's undo the work of its take, each call its own", async () => {
    // The store bounds one work's commands together (storage/workDeadline.ts): an undo that had a
    // work of its own would get a whole new deadline from a store that is gone.
    const works = { admit: [] as unknown[], put: [] as unknown[], revoke: [] as unknown[], refund: [] as unknown[], take: [] as unknown[] };
    const seen = (name: keyof typeof works, work: unknown) => void works[name].push(work);
    const recording = (pending: PendingSecrets, put: PendingSecrets["put"]): PendingSecrets => ({
      put: (key, secret, ttlMs, options, work) => (seen("put", work), put(key, secret, ttlMs, options, work)),
      take: (key, hash, work) => (seen("take", work), pending.take(key, hash, work)),
      peek: (key) => pending.peek(key),
      revoke: (key, only, work) => (seen("revoke", work), pending.revoke(key, only, work)),
      close: () => pending.close(),
    });
    const lossy = await domainHarness({ wrapPending: (pending) => recording(pending, putThrows("store")(pending).put) });
    const limits: SendLimits = lossy.limits;
    const { admit, refund } = limits;
    limits.admit = (request, work) => (seen("admit", work), admit.call(limits, request, work));
    limits.refund = (scope, bucket, given, work) => (seen("refund", work), refund.call(limits, scope, bucket, given, work));
    await expect(lossy.secrets.issue(request("una@example.com", "900001"))).rejects.toThrow("Command timed out");
    await expect(lossy.secrets.issue(request("vic@example.com", "900002"))).rejects.toThrow("Command timed out");
    const issues = works.admit;
    expect(issues).toHaveLength(2);
    expect(issues[0]).toBeInstanceOf(StoreWork);
    expect(issues[1]).not.toBe(issues[0]);
    for (const name of ["put", "revoke", "refund"] as const) expect(works[name].map((work, call) => work === issues[call])).toEqual([true, true]);

    works.put = [];
    const redeeming = await domainHarness({ wrapPending: (pending) => recording(pending, (key, secret, ttlMs, options) => pending.put(key, secret, ttlMs, options)) });
    const key = await redeeming.secrets.issue(request("wyn@example.com", "900003"));
    const redeemed = await redeeming.secrets.redeem(key, "900003");
    if (redeemed.status !== "redeemed") throw new Error("not redeemed");
    expect(await redeemed.undo()).toBe(true);
    const [issued, undone] = works.put;
    expect(works.take).toHaveLength(1);
    expect(works.take[0]).toBeInstanceOf(StoreWork);
    expect(undone).toBe(works.take[0]);
    expect(issued).not.toBe(undone);
  });

  it("gives up on a message whose relays keep dying instead of sending it without end", async () => {
    await h.secrets.issue(request("pia@example.com", "800001"));
    // maxAttempts is 3 (the harness's sealer): three relays claim it and die before recording.
    for (let claim = 0; claim < 3; claim++) {
      expect(await h.pending.messages.claim(10, minute)).toHaveLength(1);
      h.clock.advance(minute);
    }
    await h.deliver();
    expect(h.email.sent).toEqual([]);
  });

  it("keeps the record and the code unreadable in the store", async () => {
    const key = await h.secrets.issue(request("secret-reader@example.com", "918273"));
    const state = await h.pending.peek(key);
    expect(state?.data).not.toContain("secret-reader");
    expect(JSON.stringify(state)).not.toContain("918273");
    // A record opens only under its own key.
    expect(() => h.box.open(state!.data, "secret:another")).toThrow();
  });
});

function email(to: string, code: string): EmailMessage {
  return { kind: "email", to, subject: "Your code", text: `code ${code}`, html: `<p>code ${code}</p>` };
}
