import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { VerificationMethod } from "../../gen/onetime/v1/verification_service_pb.js";
import { postgresDump, redisDump } from "../support/storeDump.js";
import { startTestServer, type TestServer } from "../support/server.js";
import { verificationClient } from "../support/verificationClient.js";
import { accountTokenClient, admin, user } from "../support/accountTokenClient.js";

/**
 * Read as an attacker with a dump of both stores would: every key, every value of every Redis type,
 * every row of every onetime table. None may show a code, a consumer, a payload or a TOTP secret.
 */
describe("what a dump of Redis and Postgres shows", () => {
  let server: TestServer;
  /** What the development push channel printed: where pushed account tokens can be read. */
  let console = "";
  beforeAll(async () => {
    // The relay stays idle, so every message is still waiting in the dump.
    server = await startTestServer(
      "real",
      "plaintext",
      { OUTBOX_POLL_INTERVAL_MS: "60000", ACCOUNT_TOKEN_CLIENT_LIMIT: "100000" },
      { consoleOutput: (text) => void (console += text) },
    );
  });
  afterAll(async () => {
    await server?.stop();
  });

  it("holds no code, consumer, payload or TOTP secret after 1,000 verifications", async () => {
    const client = await verificationClient(server.url);
    // Forced codes take the same path as generated ones and are easy to search for.
    const code = (i: number) => `Pl41n${String(i).padStart(4, "0")}`;
    const totpSecrets: string[] = [];
    for (let batch = 0; batch < 10; batch++) {
      await Promise.all(
        Array.from({ length: 100 }, async (_, j) => {
          const i = batch * 100 + j;
          const payload = { note: `private-note-${i}` };
          if (i % 10 === 0) {
            const { totpUri } = await client.initiateVerification({ method: VerificationMethod.TOTP, consumer: `secret-account-${i}`, payload });
            totpSecrets.push(new URL(totpUri).searchParams.get("secret")!);
            return;
          }
          const phone = i % 10 === 1;
          await client.initiateVerification({
            method: phone ? VerificationMethod.PHONE : VerificationMethod.EMAIL,
            consumer: phone ? `+1415555${String(i).padStart(4, "0")}` : `secret-person-${i}@example.com`,
            policy: { forcedCode: code(i) },
            payload,
            idempotencyKey: `key-${i}`,
          });
        }),
      );
    }
    expect(totpSecrets).toHaveLength(100);

    const dump = [...(await redisDump(server, 900)), ...(await postgresDump(server))].join("\n");
    expect(dump).not.toMatch(/Pl41n\d{4}/);
    expect(dump).not.toMatch(/secret-person|secret-account|private-note|\+1415555/);
    for (const secret of totpSecrets) expect(dump).not.toContain(secret);
  }, 120_000);

  it("holds no account token of any kind, nor a device token it was pushed to", async () => {
    const anyone = await accountTokenClient(server.url);
    const operator = await accountTokenClient(server.url, admin);
    const alice = await accountTokenClient(server.url, user("account-alice"));
    const tokens: string[] = [];
    const devices: string[] = [];
    for (let i = 0; i < 20; i++) {
      const request = (await anyone.createAccountCreationRequestToken({})).accountCreationRequestToken!.token;
      await anyone.validateAccountCreationRequestToken({ accountCreationRequestToken: request, captchaResponse: "dev-captcha-ok" });
      const creation = (await anyone.createAccountCreationTokenFromRequestToken({ accountCreationRequestToken: request })).accountCreationToken!.token;
      if (i % 2 === 0) await alice.consumeAccountCreationToken({ accountCreationToken: creation });
      const { authToken, deviceSecret } = await anyone.createAuthToken({});
      const auth = authToken!.token;
      await alice.attachAuthToken({ authToken: auth });
      if (i % 2 === 0) await anyone.redeemAuthToken({ deviceSecret });
      tokens.push(request, creation, auth, deviceSecret, (await operator.createAccountCreationToken({})).accountCreationToken!.token);
      const device = `plainDevice${String(i).padStart(4, "0")}`;
      devices.push(device);
      await anyone.sendAccountCreationTokenByPush({ device: { pnProvider: "fcm", pnPrid: device } });
      await anyone.sendAccountRecoveryTokenByPush({ device: { pnProvider: "apns", pnPrid: device } });
    }
    const pushed = [...console.matchAll(/"token":"([A-Za-z0-9_-]{43})"/g)].map((match) => match[1]!);
    expect(pushed).toHaveLength(40);
    tokens.push(...pushed);

    // Redis holds only the per-address limits here: a key or two.
    const dump = [...(await redisDump(server, 1)), ...(await postgresDump(server))].join("\n");
    expect(dump).toContain("account-alice");
    for (const token of tokens) expect(dump).not.toContain(token);
    expect(dump).not.toMatch(/plainDevice/);
  }, 120_000);
});
