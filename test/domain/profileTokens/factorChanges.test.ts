import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { OutboundMessage } from "../../../src/domain/messages/outboundMessage.js";
import type { Actor } from "../../../src/domain/actor.js";
import type { TokenOperation } from "../../../src/domain/profileTokens/operations.js";
import type { ProfileTokens } from "../../../src/domain/profileTokens/profileTokens.js";
import type { SecurityProfile, UserKey, UserKeyType } from "../../../src/domain/profileTokens/securityProfile.js";
import { capturingLogger } from "../../support/capturingLogger.js";
import { profileTokenHarness, type ProfileTokenHarness } from "../../support/profileTokenHarness.js";

const service: Actor = { kind: "service", subject: "backend", requestId: "req-factor" };
const reportPattern = /\b([0-9a-z]{24})\b/;

/** Factor changes announced, reported and locked: TokenService's rules on the domain harness. */
describe("factor changes (domain)", () => {
  let h: ProfileTokenHarness;
  let tokens: ProfileTokens;
  beforeAll(async () => {
    h = await profileTokenHarness();
    tokens = await h.tokens();
  });
  afterAll(async () => {
    await h?.close();
  });

  let counter = 0;
  const email = (label: string) => `${label}-${randomUUID().slice(0, 8)}@example.com`;
  const phone = () => `+1415555${String(1000 + (counter++ % 9000)).padStart(4, "0")}`;

  async function profileWith(keys: { email?: string; phone?: string; emailMfa?: boolean; phoneMfa?: boolean; phoneVerified?: boolean }): Promise<string> {
    const userId = `user-${randomUUID()}`;
    await h.profiles.create(
      {
        userId,
        ...(keys.email === undefined ? {} : { email: { value: keys.email, verified: true, mfaEnabled: keys.emailMfa ?? false } }),
        ...(keys.phone === undefined ? {} : { phone: { value: keys.phone, verified: keys.phoneVerified ?? true, mfaEnabled: keys.phoneMfa ?? false } }),
      },
      service,
    );
    return userId;
  }

  const sentTo = (to: string): OutboundMessage[] => [...h.email.sent, ...h.sms.sent].filter((message) => message.to === to);

  /** The OTT the last message to `to` carried (the secrets' queue is relayed first). */
  async function codeTo(to: string): Promise<string> {
    await h.deliver();
    const last = sentTo(to).at(-1);
    const code = last === undefined ? undefined : /\b(\d{6})\b/.exec(last.kind === "email" ? last.text : last.kind === "sms" ? last.text : "")?.[1];
    if (code === undefined) throw new Error(`no code sent to ${to}`);
    return code;
  }

  /** Notices relayed from the outbox, by recipient. */
  async function noticesTo(...recipients: string[]): Promise<Map<string, OutboundMessage[]>> {
    await h.deliverNotices();
    return new Map(recipients.map((to) => [to, sentTo(to).filter((message) => "text" in message && reportPattern.test(message.text) && !/\b\d{6}\b/.test(message.text))]));
  }

  const reportTokenIn = (message: OutboundMessage | undefined): string => {
    const token = message !== undefined && "text" in message ? reportPattern.exec(message.text)?.[1] : undefined;
    if (token === undefined) throw new Error("no report token in the notice");
    return token;
  };

  async function changeKey(userId: string, from: UserKey, to: UserKey, locale?: string): Promise<SecurityProfile> {
    await tokens.request("key_change", { userId, keyType: from.type, ...(locale === undefined ? {} : { locale }) }, service);
    const step1Token = await codeTo(from.value);
    await tokens.request("key_change_new_key", { userId, step1Token, key: to, ...(locale === undefined ? {} : { locale }) }, service);
    const consumed = await tokens.consume({ operation: "key_change_new_key", token: await codeTo(to.value), userId }, service);
    return consumed.profile!;
  }

  async function consumeSingleStep(operation: TokenOperation, userId: string, destination: string, input: { keyType?: UserKeyType; key?: UserKey }): Promise<SecurityProfile> {
    await tokens.request(operation, { userId, ...input }, service);
    const consumed = await tokens.consume({ operation, token: await codeTo(destination), userId }, service);
    return consumed.profile!;
  }

  it("a key change tells the old key and the other verified key what changed and when, in the request's locale, each with its own report token; the new key is told nothing", async () => {
    const [oldEmail, newEmail, number] = [email("old"), email("new"), phone()];
    const userId = await profileWith({ email: oldEmail, phone: number });

    const after = await changeKey(userId, { type: "email", value: oldEmail }, { type: "email", value: newEmail }, "de-CH");
    expect(after.email?.value).toBe(newEmail);

    const notices = await noticesTo(oldEmail, number, newEmail);
    const [toOldEmail] = notices.get(oldEmail)!;
    const [toPhone] = notices.get(number)!;
    expect(notices.get(newEmail)).toEqual([]);
    const when = `${new Intl.DateTimeFormat("de-CH", { dateStyle: "long", timeStyle: "short", timeZone: "UTC" }).format(after.updatedAt)} UTC`;
    expect(toOldEmail).toMatchObject({ kind: "email", subject: "Kontaktdaten Ihres Kontos bei onetime wurden geändert" });
    expect(toOldEmail?.kind === "email" && toOldEmail.text).toContain(`Am ${when} wurde eine E-Mail-Adresse oder Telefonnummer Ihres Kontos bei onetime in n***@example.com geändert.`);
    expect(toPhone).toMatchObject({ kind: "sms" });
    expect(toPhone?.kind === "sms" && toPhone.text).toContain(`in n***@example.com geändert`);
    const [oldEmailToken, phoneToken] = [reportTokenIn(toOldEmail), reportTokenIn(toPhone)];
    expect(oldEmailToken).not.toBe(phoneToken);

    // Kept as keyed hashes only, one per notice, beside the change they report.
    const rows = await h.db("factor_change_reports").where({ user_id: userId }).select("token_hash", "change");
    expect(rows).toHaveLength(2);
    expect(rows.every((row: { change: string }) => row.change === "key_changed")).toBe(true);
    expect(JSON.stringify(rows)).not.toContain(oldEmailToken);
  });

  it("key addition, removal and MFA disable are announced to the other verified keys; an unverified key and the key the OTT went to are told nothing", async () => {
    const [addedTo, added] = [email("add"), phone()];
    const adding = await profileWith({ email: addedTo });
    await consumeSingleStep("key_addition", adding, added, { key: { type: "phone", value: added } });
    const addNotices = await noticesTo(addedTo, added);
    expect(addNotices.get(addedTo)).toMatchObject([{ subject: "Contact details were added to your onetime account" }]);
    expect(addNotices.get(added)).toEqual([]);

    const [kept, removed] = [email("keep"), phone()];
    const removing = await profileWith({ email: kept, phone: removed });
    const afterRemoval = await consumeSingleStep("key_removal", removing, removed, { keyType: "phone" });
    expect(afterRemoval.phone).toBeUndefined();
    const removeNotices = await noticesTo(kept, removed);
    expect(removeNotices.get(kept)).toMatchObject([{ subject: "Contact details were removed from your onetime account" }]);
    expect(removeNotices.get(kept)![0]!.kind === "email" && (removeNotices.get(kept)![0] as { text: string }).text).toContain("+1******");
    expect(removeNotices.get(removed)).toEqual([]);

    const [mfaEmail, other, unverified] = [email("mfa"), phone(), phone()];
    const disabling = await profileWith({ email: mfaEmail, emailMfa: true, phone: other });
    await consumeSingleStep("mfa_disable", disabling, mfaEmail, { keyType: "email" });
    const mfaNotices = await noticesTo(mfaEmail, other);
    expect(mfaNotices.get(other)).toMatchObject([{ kind: "sms", text: expect.stringContaining("two-factor authentication was turned off for m***@example.com") }]);
    expect(mfaNotices.get(mfaEmail)).toEqual([]);

    const lone = email("lone");
    const alone = await profileWith({ email: lone, emailMfa: true, phone: unverified, phoneVerified: false });
    const afterDisable = await consumeSingleStep("mfa_disable", alone, lone, { keyType: "email" });
    expect(afterDisable.email?.mfaEnabled).toBe(false);
    expect((await noticesTo(unverified)).get(unverified)).toEqual([]);
    expect(await h.db("factor_change_reports").where({ user_id: alone }).count<{ count: string | number }[]>("* as count")).toEqual([{ count: 0 }]);
  });

  it("a consumed report locks every factor change, requested or underway, until a backend unlocks it; the lock and its reason are on the profile and in the audit trail", async () => {
    const [oldEmail, newEmail, number] = [email("lock-old"), email("lock-new"), phone()];
    const userId = await profileWith({ email: oldEmail, phone: number });
    const changed = await changeKey(userId, { type: "email", value: oldEmail }, { type: "email", value: newEmail });
    const reportToken = reportTokenIn((await noticesTo(number)).get(number)![0]);
    // Underway before the report: its OTT is out, not yet consumed.
    await tokens.request("key_removal", { userId, keyType: "phone" }, service);
    const removalOtt = await codeTo(number);

    const reported = await tokens.report({ token: reportToken }, service);
    expect(reported).toMatchObject({ operation: "factor_change_report", userId });
    expect(reported.profile?.factorChangesLock).toEqual({ lockedAt: expect.any(Date), reportedChange: "key_changed", changedAt: changed.updatedAt });

    await expect(tokens.consume({ operation: "key_removal", token: removalOtt, userId }, service)).rejects.toMatchObject({ kind: "failed_precondition", reason: "FACTOR_CHANGES_LOCKED" });
    const refusedRequests: Array<[TokenOperation, object]> = [
      ["key_addition", { key: { type: "email", value: email("other") } }],
      ["key_change", { keyType: "email" }],
      ["key_removal", { keyType: "phone" }],
      ["key_recovery", { keyType: "phone" }],
    ];
    for (const [operation, input] of refusedRequests) {
      await expect(tokens.request(operation, { userId, ...input }, service), operation).rejects.toMatchObject({ reason: "FACTOR_CHANGES_LOCKED" });
    }
    // Nothing about signing in is locked but factor changes.
    await expect(tokens.request("password_change", { userId }, service)).resolves.toMatchObject({ destinationType: "email" });
    expect((await h.profiles.lookup({ userId })).profile).toMatchObject({ email: { value: newEmail }, phone: { value: number } });

    await expect(tokens.report({ token: reportToken }, service), "a report token works once").rejects.toMatchObject({ reason: "TOKEN_NOT_FOUND" });
    const audit = await h.db("audit_events").where({ subject: userId }).whereLike("action", "profile.factor_changes_%").select("action", "details", "request_id");
    expect(audit).toEqual([{ action: "profile.factor_changes_locked", details: { reported_change: "key_changed", changed_at: expect.any(String) }, request_id: "req-factor" }]);

    const unlocked = await tokens.unlockFactorChanges(userId, { kind: "admin", subject: "support" });
    expect(unlocked.factorChangesLock).toBeUndefined();
    await expect(tokens.request("key_removal", { userId, keyType: "phone" }, service)).resolves.toMatchObject({ destinationType: "phone" });
    expect(await h.db("audit_events").where({ subject: userId, action: "profile.factor_changes_unlocked" }).select("principal_kind")).toEqual([{ principal_kind: "admin" }]);
  });

  it("a report token works for its own user only, until it expires, and not for a public caller on a server that takes only backends", async () => {
    const [oldEmail, newEmail, number] = [email("rt-old"), email("rt-new"), phone()];
    const userId = await profileWith({ email: oldEmail, phone: number });
    await changeKey(userId, { type: "email", value: oldEmail }, { type: "email", value: newEmail });
    const notices = await noticesTo(number, oldEmail);
    const [phoneToken, emailToken] = [reportTokenIn(notices.get(number)![0]), reportTokenIn(notices.get(oldEmail)![0])];

    await expect(tokens.report({ token: phoneToken }, { kind: "public" })).rejects.toMatchObject({ kind: "unauthenticated", reason: "TOKEN_MISSING" });
    await expect(tokens.report({ token: phoneToken }, { kind: "user", subject: userId })).rejects.toMatchObject({ reason: "OPERATION_NOT_ALLOWED" });
    await expect(tokens.report({ token: phoneToken, userId: "someone-else" }, service)).rejects.toMatchObject({ reason: "TOKEN_NOT_FOUND" });
    await h.db("factor_change_reports").where({ user_id: userId }).update({ expires_at: h.db.raw("now() - interval '1 second'") });
    await expect(tokens.report({ token: emailToken }, service)).rejects.toMatchObject({ reason: "TOKEN_NOT_FOUND" });
    expect((await h.profiles.lookup({ userId })).profile?.factorChangesLock).toBeUndefined();
  });

  it("on a server that takes public requests, anyone holding a report token may spend it: the token is the proof", async () => {
    const publicTokens = await h.tokens({ rules: { publicRequests: true } });
    const [oldEmail, newEmail, number] = [email("pub-old"), email("pub-new"), phone()];
    const userId = await profileWith({ email: oldEmail, phone: number });
    await changeKey(userId, { type: "email", value: oldEmail }, { type: "email", value: newEmail });
    const token = reportTokenIn((await noticesTo(number)).get(number)![0]);
    await expect(publicTokens.report({ token }, { kind: "public", clientAddress: "203.0.113.9" })).resolves.toMatchObject({ userId, profile: { factorChangesLock: { reportedChange: "key_changed" } } });
    expect(await h.db("audit_events").where({ subject: userId, action: "profile.factor_changes_locked" }).select("principal_kind", "client_address")).toEqual([
      { principal_kind: "public", client_address: "203.0.113.9" },
    ]);
  });

  it("key recovery of a key MFA sends to needs MFA on the other key too, at each step and when consumed; once through, the replaced key is told", async () => {
    const [mfaEmail, plainPhone] = [email("rec-mfa"), phone()];
    const refused = await profileWith({ email: mfaEmail, emailMfa: true, phone: plainPhone });
    await expect(tokens.request("key_recovery", { userId: refused, keyType: "email" }, service)).rejects.toMatchObject({ kind: "failed_precondition", reason: "SECOND_FACTOR_REQUIRED" });
    expect(sentTo(plainPhone)).toEqual([]);

    // MFA on both keys: the step-1 OTT to the phone is a second factor.
    const [lostEmail, newEmail, mfaPhone] = [email("rec-lost"), email("rec-new"), phone()];
    const both = await profileWith({ email: lostEmail, emailMfa: true, phone: mfaPhone, phoneMfa: true });
    await tokens.request("key_recovery", { userId: both, keyType: "email", locale: "en" }, service);
    await tokens.request("key_recovery_new_key", { userId: both, step1Token: await codeTo(mfaPhone), key: { type: "email", value: newEmail } }, service);
    const recovered = await tokens.consume({ operation: "key_recovery_new_key", token: await codeTo(newEmail), userId: both }, service);
    expect(recovered.profile?.email).toEqual({ value: newEmail, verified: true, mfaEnabled: false });
    const notices = await noticesTo(lostEmail, mfaPhone, newEmail);
    expect(notices.get(lostEmail)).toMatchObject([{ subject: "Contact details on your onetime account were replaced by account recovery" }]);
    expect(notices.get(mfaPhone)).toHaveLength(1);
    expect(notices.get(newEmail)).toEqual([]);

    // MFA turned on for the lost key after step 1: step 2 is refused, and the step-1 OTT kept.
    const [racedEmail, racedPhone] = [email("rec-race"), phone()];
    const raced = await profileWith({ email: racedEmail, phone: racedPhone });
    await tokens.request("key_recovery", { userId: raced, keyType: "email" }, service);
    const step1Token = await codeTo(racedPhone);
    await h.profiles.apply(raced, { kind: "enable_mfa", type: "email" }, service);
    await expect(tokens.request("key_recovery_new_key", { userId: raced, step1Token, key: { type: "email", value: email("rec-x") } }, service)).rejects.toMatchObject({
      reason: "SECOND_FACTOR_REQUIRED",
    });

    // …and after step 2: the consume is refused and the key stays.
    const [lateEmail, latePhone, lateNew] = [email("rec-late"), phone(), email("rec-late-new")];
    const late = await profileWith({ email: lateEmail, phone: latePhone });
    await tokens.request("key_recovery", { userId: late, keyType: "email" }, service);
    await tokens.request("key_recovery_new_key", { userId: late, step1Token: await codeTo(latePhone), key: { type: "email", value: lateNew } }, service);
    const ott = await codeTo(lateNew);
    await h.profiles.apply(late, { kind: "enable_mfa", type: "email" }, service);
    await expect(tokens.consume({ operation: "key_recovery_new_key", token: ott, userId: late }, service)).rejects.toMatchObject({ reason: "PROFILE_CHANGED" });
    expect((await h.profiles.lookup({ userId: late })).profile?.email).toEqual({ value: lateEmail, verified: true, mfaEnabled: true });
  });

  it("a notice that cannot be built never undoes the change, and one a channel refuses for now goes out later", async () => {
    const { logger, records } = capturingLogger("warn");
    const emailOnly = await h.tokens({ channels: "email", logger });
    const [oldEmail, newEmail, number] = [email("down-old"), email("down-new"), phone()];
    const userId = await profileWith({ email: oldEmail, phone: number });
    await emailOnly.request("key_change", { userId, keyType: "email" }, service);
    await emailOnly.request("key_change_new_key", { userId, step1Token: await codeTo(oldEmail), key: { type: "email", value: newEmail } }, service);
    const ott = await codeTo(newEmail);
    h.email.answer({ status: "failed", reason: "mail server down" });
    const consumed = await emailOnly.consume({ operation: "key_change_new_key", token: ott, userId }, service);
    expect(consumed.profile?.email?.value).toBe(newEmail);
    expect(records).toContainEqual(expect.objectContaining({ msg: "a factor change could not be announced to one of the user's keys", channel: "phone", change: "key_changed" }));

    // The only notice (no SMS channel for the phone) failed once: it waits in the outbox.
    expect((await noticesTo(oldEmail)).get(oldEmail)).toEqual([]);
    await expect.poll(async () => ((await noticesTo(oldEmail)).get(oldEmail) ?? []).length, { interval: 5 }).toBe(1);
    expect(sentTo(number)).toEqual([]);
    expect((await h.profiles.lookup({ userId })).profile?.email?.value).toBe(newEmail);
  });
});
