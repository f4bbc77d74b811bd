import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { AccountTokenKind, AccountTokenState } from "../../gen/onetime/v1/account_token_service_pb.js";
import { backends, startTestServer, type TestServer } from "../support/server.js";
import { accountTokenClient, admin, publicCaller, user, type AccountTokenClient } from "../support/accountTokenClient.js";
import { failure } from "../support/verificationClient.js";
import { AccountStandIns } from "./standIns.js";

let deviceNumber = 0;
/** The device window; the test that needs time to pass ages rows in the database instead of waiting. */
const deviceWindowMs = 3_600_000;
/** A fresh APNs device token: 64 hex digits, as APNs issues them. */
const newDevice = () => (deviceNumber++).toString(16).padStart(64, "c");

describe.each(backends)("tokens sent by push on %s backends", (backend) => {
  let standIns: AccountStandIns;
  let server: TestServer;
  let anyone: AccountTokenClient;
  let operator: AccountTokenClient;

  beforeAll(async () => {
    standIns = await AccountStandIns.start();
    server = await startTestServer(backend, "push_tokens", {
      ...standIns.env,
      ACCOUNT_TOKEN_CLIENT_LIMIT: "100000",
      ACCOUNT_TOKEN_DEVICE_LIMIT: "2",
      ACCOUNT_TOKEN_DEVICE_WINDOW_SECONDS: String(deviceWindowMs / 1000),
    });
    anyone = await accountTokenClient(server.url, publicCaller);
    operator = await accountTokenClient(server.url, admin);
  });
  afterAll(async () => {
    await server?.stop();
    await standIns?.stop();
  });
  beforeEach(() => {
    standIns.apns.answer = () => ({ status: 200 });
  });

  const send = (prid: string, provider = "apns.dev") => anyone.sendAccountCreationTokenByPush({ device: { pnProvider: provider, pnPrid: prid } });
  const tokensOf = async (prid: string, provider = "apns.dev") => (await operator.listAccountTokens({ device: { pnProvider: provider, pnPrid: prid } })).tokens;

  it("sends a creation token through APNs that a user can then consume, once", async () => {
    const device = newDevice();
    const sent = await anyone.sendAccountCreationTokenByPush({ device: { pnProvider: "apns.dev", pnPrid: device, pnParam: "org.example.other" } });
    expect(Number(sent.expireTime!.seconds) * 1000).toBeGreaterThan(Date.now());
    const push = standIns.apns.requests.at(-1)!;
    expect(push.headers["apns-topic"]).toBe("org.example.other");
    const token = standIns.lastTokenFor(device);
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(standIns.pushes().at(-1)!.kind).toBe("account_creation");

    const [record] = await tokensOf(device);
    expect(record).toMatchObject({ kind: AccountTokenKind.ACCOUNT_CREATION, state: AccountTokenState.ACTIVE, pushed: true });
    const alice = await accountTokenClient(server.url, user("account-alice"));
    expect((await alice.consumeAccountCreationToken({ accountCreationToken: token })).accountId).toBe("account-alice");
    expect(await failure(alice.consumeAccountCreationToken({ accountCreationToken: token }))).toMatchObject({ code: Code.NotFound });
  });

  it("refuses a second push while the first token is valid (403), and allows one once it is used", async () => {
    const device = newDevice();
    await send(device);
    expect(await failure(send(device))).toMatchObject({ code: Code.PermissionDenied, reason: "TOKEN_ALREADY_SENT" });
    const alice = await accountTokenClient(server.url, user("account-alice"));
    await alice.consumeAccountCreationToken({ accountCreationToken: standIns.lastTokenFor(device) });
    await send(device);
    // Each kind has its slot: a recovery token may go to the same device meanwhile.
    await anyone.sendAccountRecoveryTokenByPush({ device: { pnProvider: "apns.dev", pnPrid: device } });
  });

  it("a token that expired unused no longer blocks its device, and reads as expired", async () => {
    const device = newDevice();
    await send(device);
    const [first] = await tokensOf(device);
    await server.server.app.stores.db("account_tokens").where({ id: first!.tokenId }).update({ expires_at: new Date(Date.now() - 1000) });
    expect((await tokensOf(device))[0]).toMatchObject({ tokenId: first!.tokenId, state: AccountTokenState.EXPIRED });
    await send(device);
    const [second, old] = await tokensOf(device);
    expect(second).toMatchObject({ state: AccountTokenState.ACTIVE });
    expect(old).toMatchObject({ tokenId: first!.tokenId, state: AccountTokenState.EXPIRED });
  });

  it("of concurrent pushes to one device, one goes out", async () => {
    const device = newDevice();
    const outcomes = await Promise.allSettled(Array.from({ length: 10 }, () => send(device)));
    expect(outcomes.filter((outcome) => outcome.status === "fulfilled")).toHaveLength(1);
    expect(standIns.pushes().filter((push) => push.deviceToken === device)).toHaveLength(1);
  });

  it("counts a device's tokens across a sliding window (403 when reached): a token leaves the count a window after it was made, not when a fixed window ends", async () => {
    const device = newDevice();
    const sendAndRevoke = async () => {
      await send(device);
      await operator.revokeAccountToken({ tokenId: (await tokensOf(device))[0]!.tokenId });
    };
    await sendAndRevoke();
    await sendAndRevoke();
    expect(await failure(send(device))).toMatchObject({ code: Code.PermissionDenied, reason: "DEVICE_LIMIT_REACHED" });
    // Another device is not concerned.
    await send(newDevice());

    // Time passes by the database's clock, which wrote the rows: the first token made a window and
    // a second ago, the second half a window ago.
    const [second, first] = await tokensOf(device);
    const db = server.server.app.stores.db;
    const made = (id: string, msAgo: number) => db("account_tokens").where({ id }).update({ created_at: db.raw("now() - make_interval(secs => ?)", [msAgo / 1000]) });
    await made(first!.tokenId, deviceWindowMs + 1_000);
    await made(second!.tokenId, deviceWindowMs / 2);
    // The first has left the window: one more may go.
    await sendAndRevoke();
    // The second and the new one are both within it: a fixed window that began with the first
    // token would have ended, and counted afresh, but a sliding one still counts them.
    expect(await failure(send(device))).toMatchObject({ code: Code.PermissionDenied, reason: "DEVICE_LIMIT_REACHED" });
    await made(second!.tokenId, deviceWindowMs + 1_000);
    await send(device);
  });

  it("a push that fails leaves no usable token (503), and the device may be sent another", async () => {
    const device = newDevice();
    standIns.apns.answer = () => ({ status: 500, reason: "InternalServerError" });
    expect(await failure(send(device))).toMatchObject({ code: Code.Unavailable, reason: "PUSH_FAILED" });
    const [record] = await tokensOf(device);
    expect(record).toMatchObject({ state: AccountTokenState.REVOKED });
    expect(record!.revokeTime).toBeDefined();
    // The token that APNs may have seen cannot be used.
    const leaked = standIns.lastTokenFor(device);
    const alice = await accountTokenClient(server.url, user("account-alice"));
    expect(await failure(alice.consumeAccountCreationToken({ accountCreationToken: leaked }))).toMatchObject({ code: Code.NotFound });

    // FCM is not configured here: refused by the channel, same answer.
    expect(await failure(send(newDevice(), "fcm"))).toMatchObject({ code: Code.Unavailable, reason: "PUSH_FAILED" });

    standIns.apns.answer = () => ({ status: 200 });
    await send(device);
  });

  it("rejects bad pn_* values naming the field, before anything is stored or sent", async () => {
    const before = standIns.apns.requests.length;
    const db = server.server.app.stores.db;
    const rows = async () => Number((await db("account_tokens").count<{ count: string }[]>("* as count"))[0]!.count);
    const rowsBefore = await rows();
    const cases: Array<[Record<string, string | undefined>, string]> = [
      [{ pnProvider: "apns.prod", pnPrid: "abc" }, "device.pn_provider"],
      [{ pnProvider: "", pnPrid: "abc" }, "device.pn_provider"],
      [{ pnProvider: "fcm", pnPrid: "abc", pnParam: "has-dash" }, "device.pn_param"],
      [{ pnProvider: "fcm", pnPrid: "abc", pnParam: "" }, "device.pn_param"],
      [{ pnProvider: "fcm", pnPrid: "a b" }, "device.pn_prid"],
      [{ pnProvider: "fcm", pnPrid: "a/b" }, "device.pn_prid"],
      [{ pnProvider: "fcm" }, "device.pn_prid"],
    ];
    for (const [device, field] of cases) {
      const refused = await failure(anyone.sendAccountCreationTokenByPush({ device }));
      expect(refused, JSON.stringify(device)).toMatchObject({ code: Code.InvalidArgument, fields: [field] });
      expect((await failure(anyone.sendAccountRecoveryTokenByPush({ device }))).fields).toEqual([field]);
    }
    expect((await failure(anyone.sendAccountCreationTokenByPush({}))).fields).toEqual(["device"]);
    expect(await rows()).toBe(rowsBefore);
    // The seed's own shapes pass: colons and dashes in pn_prid, underscores in pn_param.
    await anyone.sendAccountCreationTokenByPush({ device: { pnProvider: "apns", pnPrid: newDevice(), pnParam: "org_example.app" } });
    expect(standIns.apns.requests.length).toBe(before + 1);
    expect(await rows()).toBe(rowsBefore + 1);
  });

  it("refuses a pn_param topic not in APNS_TOPIC or APNS_ALLOWED_TOPICS naming the field, before anything is stored or sent", async () => {
    const before = standIns.apns.requests.length;
    const db = server.server.app.stores.db;
    const rows = async () => Number((await db("account_tokens").count<{ count: string }[]>("* as count"))[0]!.count);
    const rowsBefore = await rows();
    for (const provider of ["apns", "apns.dev"]) {
      const device = { pnProvider: provider, pnPrid: newDevice(), pnParam: "com.attacker.app" };
      expect(await failure(anyone.sendAccountCreationTokenByPush({ device }))).toMatchObject({ code: Code.InvalidArgument, fields: ["device.pn_param"] });
      expect((await failure(anyone.sendAccountRecoveryTokenByPush({ device }))).fields).toEqual(["device.pn_param"]);
    }
    expect(standIns.apns.requests.length).toBe(before);
    expect(await rows()).toBe(rowsBefore);
    // The default topic may be named too.
    await anyone.sendAccountCreationTokenByPush({ device: { pnProvider: "apns", pnPrid: newDevice(), pnParam: "org.example.app" } });
    expect(standIns.apns.requests.at(-1)!.headers["apns-topic"]).toBe("org.example.app");
  });

  it("recovery: a token by push, spent once on the recovery page with an optional phone", async () => {
    const device = newDevice();
    await anyone.sendAccountRecoveryTokenByPush({ device: { pnProvider: "apns", pnPrid: device } });
    const push = standIns.pushes().at(-1)!;
    expect(push.kind).toBe("account_recovery");
    const used = await anyone.consumeAccountRecoveryToken({ accountRecoveryToken: push.token, phone: "+3312341234" });
    expect(used.phone).toBe("+3312341234");
    expect(await failure(anyone.consumeAccountRecoveryToken({ accountRecoveryToken: push.token }))).toMatchObject({ code: Code.NotFound, reason: "ACCOUNT_TOKEN_NOT_FOUND" });
    expect(await failure(anyone.consumeAccountRecoveryToken({ accountRecoveryToken: push.token, phone: "0612" }))).toMatchObject({ code: Code.InvalidArgument, fields: ["phone"] });
    // A creation token is not a recovery token.
    const { accountCreationToken } = await operator.createAccountCreationToken({});
    expect(await failure(anyone.consumeAccountRecoveryToken({ accountRecoveryToken: accountCreationToken!.token }))).toMatchObject({ code: Code.NotFound });
  });

  it("audits created, sent, used and revoked with the principal and client address", async () => {
    const device = newDevice();
    await send(device);
    const [record] = await tokensOf(device);
    const alice = await accountTokenClient(server.url, user("account-alice"), "connect-json");
    await alice.consumeAccountCreationToken({ accountCreationToken: standIns.lastTokenFor(device) });
    standIns.apns.answer = () => ({ status: 410, reason: "Unregistered" });
    const failed = newDevice();
    await failure(send(failed));
    const [failedRecord] = await tokensOf(failed);
    const db = server.server.app.stores.db;
    const rows = await db("audit_events").whereIn("subject", [record!.tokenId, failedRecord!.tokenId]).orderBy("id").select("subject", "action", "principal_kind", "principal_subject", "client_address", "details");
    expect(rows.map((row: { subject: string; action: string; principal_kind: string; principal_subject: string | null; client_address: string }) => [row.subject === record!.tokenId ? "ok" : "failed", row.action, row.principal_kind, row.principal_subject, row.client_address])).toEqual([
      ["ok", "account_token.created", "public", null, "127.0.0.1"],
      ["ok", "account_token.sent", "public", null, "127.0.0.1"],
      ["ok", "account_token.used", "user", "account-alice", "127.0.0.1"],
      ["failed", "account_token.created", "public", null, "127.0.0.1"],
      ["failed", "account_token.revoked", "public", null, "127.0.0.1"],
    ]);
    expect(rows.at(-1).details).toEqual({ kind: "account_creation", reason: "push_failed" });
  });
});
