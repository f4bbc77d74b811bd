import { setMaxListeners } from "node:events";
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AccountTokenKind, AccountTokenState, AuthTokenState, type WatchAuthTokenResponse } from "../../gen/onetime/v1/account_token_service_pb.js";
import { backends, startTestServer, type TestServer } from "../support/server.js";
import { accountTokenClient, admin, publicCaller, user, type AccountTokenClient } from "../support/accountTokenClient.js";
import { failure, type Protocol } from "../support/verificationClient.js";

/**
 * How long an auth token lives here (AUTH_TOKEN_TTL_SECONDS' default): a watch nothing wakes ends
 * only then, so one that ended sooner was woken by the signal. Never a bound on speed.
 */
const authTokenLifetimeMs = 600_000;

/** Collects a watch's messages as they come, each with the time it arrived. */
function collect(stream: AsyncIterable<WatchAuthTokenResponse>) {
  const seen: Array<{ state: AuthTokenState; at: number }> = [];
  const done = (async () => {
    for await (const message of stream) seen.push({ state: message.state, at: Date.now() });
  })();
  return { seen, done };
}

async function until(check: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("timed out waiting");
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** The newest auth token that is still usable, as an operator finds it: by its id, never its value. */
async function newestAuthTokenId(operator: AccountTokenClient): Promise<string> {
  const { tokens } = await operator.listAccountTokens({ kind: AccountTokenKind.AUTH, state: AccountTokenState.ACTIVE, pageSize: 1 });
  return tokens[0]!.tokenId;
}

/**
 * Watches a fresh auth token through `watcher`, revokes it through `operator`, and returns what
 * the watch said and how long after the revoke its last message came. The watch must have ended
 * within 5 s: the token itself would keep it open for ten minutes.
 */
async function watchRevoke(watcher: AccountTokenClient, operator: AccountTokenClient): Promise<{ states: AuthTokenState[]; afterRevokeMs: number; token: string; deviceSecret: string }> {
  const { authToken, deviceSecret } = await watcher.createAuthToken({});
  const token = authToken!.token;
  const tokenId = await newestAuthTokenId(operator);
  const watch = collect(watcher.watchAuthToken({ deviceSecret }));
  await until(() => watch.seen.length === 1);
  const revokedAt = Date.now();
  const { token: revoked } = await operator.revokeAccountToken({ tokenId });
  expect(revoked).toMatchObject({ kind: AccountTokenKind.AUTH, state: AccountTokenState.REVOKED });
  await until(() => watch.seen.length === 2);
  await watch.done;
  return { states: watch.seen.map((message) => message.state), afterRevokeMs: watch.seen[1]!.at - revokedAt, token, deviceSecret };
}

describe.each(backends)("auth tokens on %s backends", (backend) => {
  let server: TestServer;

  beforeAll(async () => {
    // One client watches twenty tokens below, all on its one HTTP/2 connection.
    server = await startTestServer(backend, "auth_tokens", { ACCOUNT_TOKEN_CLIENT_LIMIT: "100000", MAX_WATCH_STREAMS_PER_CONNECTION: "20" });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it.each<Protocol>(["grpc", "connect-json"])("pairs a device with an account across two clients, the device watching over %s", async (protocol) => {
    const device = await accountTokenClient(server.url, publicCaller, protocol);
    const phone = await accountTokenClient(server.url, user("account-carol"), protocol === "grpc" ? "connect-json" : "grpc");
    const { authToken, deviceSecret } = await device.createAuthToken({});
    const token = authToken!.token;
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(deviceSecret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(deviceSecret).not.toBe(token);

    // Not attached yet: pending, and nothing is consumed.
    expect(await device.redeemAuthToken({ deviceSecret })).toMatchObject({ state: AuthTokenState.PENDING, accountId: "" });
    expect(await device.redeemAuthToken({ deviceSecret })).toMatchObject({ state: AuthTokenState.PENDING });

    const watch = collect(device.watchAuthToken({ deviceSecret }));
    await until(() => watch.seen.length === 1);
    expect(watch.seen[0]!.state).toBe(AuthTokenState.PENDING);

    const attachedAt = Date.now();
    await phone.attachAuthToken({ authToken: token });
    await watch.done;
    expect(watch.seen.map((message) => message.state)).toEqual([AuthTokenState.PENDING, AuthTokenState.ATTACHED]);
    expect(watch.seen[1]!.at - attachedAt).toBeLessThan(authTokenLifetimeMs);

    // Attached once: a second attach, by anyone, finds nothing.
    expect(await failure(phone.attachAuthToken({ authToken: token }))).toMatchObject({ code: Code.NotFound, reason: "ACCOUNT_TOKEN_NOT_FOUND" });

    expect(await device.redeemAuthToken({ deviceSecret })).toMatchObject({ state: AuthTokenState.REDEEMED, accountId: "account-carol" });
    expect(await failure(device.redeemAuthToken({ deviceSecret }))).toMatchObject({ code: Code.NotFound, reason: "ACCOUNT_TOKEN_NOT_FOUND" });
    expect(await failure(collect(device.watchAuthToken({ deviceSecret })).done)).toMatchObject({ code: Code.NotFound });
  });

  it("a photo of the screen attaches but cannot redeem or watch: the shown token is no device secret, and the device still collects", async () => {
    const device = await accountTokenClient(server.url, publicCaller, "connect-json");
    const onlooker = await accountTokenClient(server.url);
    const { authToken, deviceSecret } = await device.createAuthToken({});
    const shown = authToken!.token;
    const notFound = { code: Code.NotFound, reason: "ACCOUNT_TOKEN_NOT_FOUND" };
    const tryToSteal = async () => {
      expect(await failure(onlooker.redeemAuthToken({ deviceSecret: shown }))).toMatchObject(notFound);
      expect(await failure(collect(onlooker.watchAuthToken({ deviceSecret: shown })).done)).toMatchObject(notFound);
      // The field a client of the old contract sends names nothing any more: the one it lacks is named.
      expect(await failure(onlooker.redeemAuthToken({ authToken: shown }))).toMatchObject({ code: Code.InvalidArgument, fields: ["device_secret"] });
      expect(await failure(collect(onlooker.watchAuthToken({ authToken: shown })).done)).toMatchObject({ code: Code.InvalidArgument, fields: ["device_secret"] });
    };
    await tryToSteal();
    expect(await device.redeemAuthToken({ deviceSecret })).toMatchObject({ state: AuthTokenState.PENDING });
    await (await accountTokenClient(server.url, user("account-hal"))).attachAuthToken({ authToken: shown });
    await tryToSteal();
    expect(await device.redeemAuthToken({ deviceSecret })).toMatchObject({ state: AuthTokenState.REDEEMED, accountId: "account-hal" });
  });

  it("a watch of a token already attached answers ATTACHED, its only message, and ends without waiting for a signal", async () => {
    const device = await accountTokenClient(server.url);
    const { authToken, deviceSecret } = await device.createAuthToken({});
    await (await accountTokenClient(server.url, user("account-dan"))).attachAuthToken({ authToken: authToken!.token });
    // No signal comes after this attach: a watch that waited for one would run until the token
    // expires, ten minutes on, and time the test out.
    const watch = collect(device.watchAuthToken({ deviceSecret }));
    await watch.done;
    expect(watch.seen.map((message) => message.state)).toEqual([AuthTokenState.ATTACHED]);
  });

  it("an admin's revoke ends a waiting watch at once with REVOKED; the token is gone for redeem and attach", async () => {
    const device = await accountTokenClient(server.url);
    const { states, afterRevokeMs, token, deviceSecret } = await watchRevoke(device, await accountTokenClient(server.url, admin));
    expect(states).toEqual([AuthTokenState.PENDING, AuthTokenState.REVOKED]);
    expect(afterRevokeMs).toBeLessThan(authTokenLifetimeMs);
    expect(await failure(device.redeemAuthToken({ deviceSecret }))).toMatchObject({ code: Code.NotFound, reason: "ACCOUNT_TOKEN_NOT_FOUND" });
    expect(await failure((await accountTokenClient(server.url, user("account-gil"))).attachAuthToken({ authToken: token }))).toMatchObject({ code: Code.NotFound });
  });

  it("unknown tokens: not found for attach, redeem and watch", async () => {
    const device = await accountTokenClient(server.url);
    const phone = await accountTokenClient(server.url, user("account-carol"));
    const unknown = "B".repeat(43);
    expect(await failure(phone.attachAuthToken({ authToken: unknown }))).toMatchObject({ code: Code.NotFound });
    expect(await failure(device.redeemAuthToken({ deviceSecret: unknown }))).toMatchObject({ code: Code.NotFound });
    expect(await failure(collect(device.watchAuthToken({ deviceSecret: unknown })).done)).toMatchObject({ code: Code.NotFound });
  });

  it("many watchers of many tokens each wake for their own token only", async () => {
    const device = await accountTokenClient(server.url);
    const phone = await accountTokenClient(server.url, user("account-erin"));
    const created = await Promise.all(Array.from({ length: 20 }, () => device.createAuthToken({})));
    const tokens = created.map(({ authToken }) => authToken!.token);
    const leaving = new AbortController();
    // One signal for all twenty calls: each call listens to it.
    setMaxListeners(tokens.length, leaving.signal);
    const watches = created.map(({ deviceSecret }) => collect(device.watchAuthToken({ deviceSecret }, { signal: leaving.signal })));
    await until(() => watches.every((watch) => watch.seen.length === 1));
    await Promise.all(tokens.filter((_, i) => i % 2 === 0).map((token) => phone.attachAuthToken({ authToken: token })));
    await Promise.all(watches.filter((_, i) => i % 2 === 0).map((watch) => watch.done));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(watches.map((watch) => watch.seen.length)).toEqual(tokens.map((_, i) => (i % 2 === 0 ? 2 : 1)));
    // The device gives up on the others: their watches end, with the call cancelled.
    leaving.abort();
    const left = await Promise.allSettled(watches.filter((_, i) => i % 2 === 1).map((watch) => watch.done));
    expect(left.every((outcome) => outcome.status === "rejected")).toBe(true);
  });
});

describe("auth token watches across instances", () => {
  let first: TestServer;
  let second: TestServer;

  beforeAll(async () => {
    first = await startTestServer("real", "auth_watch", { ACCOUNT_TOKEN_CLIENT_LIMIT: "100000" });
    const shared = first.config;
    if (shared.database.kind !== "postgres" || shared.shortLivedStore.kind !== "redis") throw new Error("expected the real backends");
    // Same Postgres schema and Redis prefix: two instances of one deployment.
    second = await startTestServer("real", "auth_watch_2", {
      ACCOUNT_TOKEN_CLIENT_LIMIT: "100000",
      DATABASE_SCHEMA: shared.database.schema,
      REDIS_KEY_PREFIX: shared.shortLivedStore.keyPrefix,
    });
  });
  afterAll(async () => {
    await second?.stop();
    await first?.stop();
  });

  it("wakes a watcher on one instance when the attach lands on another", async () => {
    const device = await accountTokenClient(first.url);
    const phone = await accountTokenClient(second.url, user("account-frank"));
    const { authToken, deviceSecret } = await device.createAuthToken({});
    const watch = collect(device.watchAuthToken({ deviceSecret }));
    await until(() => watch.seen.length === 1);
    const attachedAt = Date.now();
    await phone.attachAuthToken({ authToken: authToken!.token });
    await watch.done;
    expect(watch.seen.map((message) => message.state)).toEqual([AuthTokenState.PENDING, AuthTokenState.ATTACHED]);
    expect(watch.seen[1]!.at - attachedAt).toBeLessThan(authTokenLifetimeMs);
  });

  it("ends a watch on one instance when the revoke lands on another", async () => {
    const { states, afterRevokeMs } = await watchRevoke(await accountTokenClient(first.url), await accountTokenClient(second.url, admin));
    expect(states).toEqual([AuthTokenState.PENDING, AuthTokenState.REVOKED]);
    expect(afterRevokeMs).toBeLessThan(authTokenLifetimeMs);
  });
});

describe.each(backends)("auth token watches that end by time on %s backends", (backend) => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer(backend, "auth_expiry", { AUTH_TOKEN_TTL_SECONDS: "3" });
  });
  afterAll(async () => {
    await server?.stop();
  });

  // Real time: the watch's deadline is the process's timer at the token's expiry, which no test clock moves.
  it("ends at the token's expiry", async () => {
    const device = await accountTokenClient(server.url, publicCaller, "connect-json");
    const { authToken, deviceSecret } = await device.createAuthToken({});
    const expireAt = Number(authToken!.expireTime!.seconds) * 1000 + authToken!.expireTime!.nanos / 1e6;
    const watch = collect(device.watchAuthToken({ deviceSecret }));
    await watch.done;
    expect(watch.seen.map((message) => message.state)).toEqual([AuthTokenState.PENDING, AuthTokenState.EXPIRED]);
    expect(watch.seen[1]!.at).toBeGreaterThanOrEqual(expireAt - 50);
    expect(await failure(device.redeemAuthToken({ deviceSecret }))).toMatchObject({ code: Code.NotFound });
  });
});
