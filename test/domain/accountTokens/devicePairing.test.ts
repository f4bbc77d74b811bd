import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AuthTokenView } from "../../../src/domain/accountTokens/accountTokenStore.js";
import type { AuthTokens } from "../../../src/domain/accountTokens/authTokens.js";
import { authTokenOf } from "../../../src/domain/accountTokens/deviceSecret.js";
import type { Actor } from "../../../src/domain/actor.js";
import { domainHarness, type AccountTokenHarness } from "../../support/domainHarness.js";

const device: Actor = { kind: "public", clientAddress: "198.51.100.7", clientNetwork: "198.51.100.7" };
const onlooker: Actor = { kind: "public", clientAddress: "203.0.113.9", clientNetwork: "203.0.113.9" };
const phone: Actor & { subject: string } = { kind: "user", subject: "account-ada" };

/** What a call was refused with, as the caller would tell answers apart. */
async function refusal(call: Promise<unknown>): Promise<{ name: string; kind: string; reason: string; message: string }> {
  const error = (await call.then(
    () => {
      throw new Error("the call succeeded but was expected to fail");
    },
    (caught: unknown) => caught,
  )) as { name: string; kind: string; reason: string; message: string };
  return { name: error.name, kind: error.kind, reason: error.reason, message: error.message };
}

/** A watch's first answer, or its refusal; the watch is then left. */
async function firstWatched(auth: AuthTokens, deviceSecret: string, actor: Actor): Promise<AuthTokenView> {
  const leaving = new AbortController();
  const watch = auth.watch(deviceSecret, actor, leaving.signal);
  try {
    const first = await watch.next();
    return first.value as AuthTokenView;
  } finally {
    leaving.abort();
    await watch.return(undefined);
  }
}

/**
 * Device pairing that a photo of the screen cannot steal (issue 19): the device shows the auth
 * token and keeps the device secret it was made from; redeem and watch take only the secret.
 */
describe("auth token pairing (domain)", () => {
  let h: AccountTokenHarness;
  let auth: AuthTokens;
  beforeAll(async () => {
    h = await (await domainHarness()).accountTokens();
    auth = h.tokens.auth;
  });
  afterAll(async () => {
    await h?.close();
  });

  it("issues a shown token made one way from a device secret it keeps apart", async () => {
    const pairing = await auth.create(device);
    expect(pairing.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(pairing.deviceSecret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(pairing.token).toBe(authTokenOf(pairing.deviceSecret));
    expect(authTokenOf(pairing.token)).not.toBe(pairing.deviceSecret);
  });

  it("answers redeem and watch with the shown token, or any wrong secret, exactly as an unknown token, and leaves the pairing to its device", async () => {
    const pairing = await auth.create(device);
    const other = await auth.create(device);
    const flipped = `${pairing.deviceSecret.slice(0, -1)}${pairing.deviceSecret.endsWith("A") ? "B" : "A"}`;
    const impostors = [pairing.token, other.token, flipped, authTokenOf(pairing.token), ""];
    const unknown = await refusal(auth.redeem("never-issued-device-secret", onlooker));
    expect(unknown).toMatchObject({ kind: "not_found", reason: "ACCOUNT_TOKEN_NOT_FOUND" });
    expect(await refusal(firstWatched(auth, "never-issued-device-secret", onlooker))).toEqual(unknown);

    const tryEach = async () => {
      for (const secret of impostors) {
        expect(await refusal(auth.redeem(secret, onlooker))).toEqual(unknown);
        expect(await refusal(firstWatched(auth, secret, onlooker))).toEqual(unknown);
      }
    };
    // Before the attach: nothing to steal yet, and the device's token stays as it was.
    await tryEach();
    expect(await auth.redeem(pairing.deviceSecret, device)).toEqual({ state: "pending" });
    expect(await firstWatched(auth, pairing.deviceSecret, device)).toMatchObject({ state: "pending" });

    // The phone attaches what the screen shows; whoever photographed it still cannot collect.
    await auth.attach(pairing.token, phone);
    await tryEach();
    const rows = await h.db("account_tokens").where({ kind: "auth", account_id: phone.subject }).select("state", "used_at");
    expect(rows).toEqual([{ state: "active", used_at: null }]);
    expect(await h.db("audit_events").where({ action: "account_token.used" }).count({ n: "*" })).toEqual([{ n: 0 }]);

    expect(await firstWatched(auth, pairing.deviceSecret, device)).toMatchObject({ state: "attached" });
    expect(await auth.redeem(pairing.deviceSecret, device)).toEqual({ state: "redeemed", accountId: "account-ada" });
    // The other pairing was never touched either.
    expect(await auth.redeem(other.deviceSecret, device)).toEqual({ state: "pending" });
  });

  it("wakes the device's watch on the attach while a watch by the shown token is refused", async () => {
    const pairing = await auth.create(device);
    const leaving = new AbortController();
    const watch = auth.watch(pairing.deviceSecret, device, leaving.signal);
    expect((await watch.next()).value).toMatchObject({ state: "pending" });
    expect(await refusal(firstWatched(auth, pairing.token, onlooker))).toMatchObject({ reason: "ACCOUNT_TOKEN_NOT_FOUND" });
    const next = watch.next();
    await auth.attach(pairing.token, phone);
    expect((await next).value).toMatchObject({ state: "attached" });
    expect((await watch.next()).done).toBe(true);
  });
});
