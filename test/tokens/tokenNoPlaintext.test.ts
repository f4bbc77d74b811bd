import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TokenOperation, UserKeyType } from "../../gen/onetime/v1/token_service_pb.js";
import { postgresDump, redisDump } from "../support/storeDump.js";
import { startTokenServer, tokenClient, type TokenServer } from "./tokenTestSupport.js";

/**
 * Read as an attacker with a dump of Redis and Postgres would, after profiles were created and
 * OTTs requested and consumed: no OTT, no email address, no phone number, no anti-phishing code.
 */
describe("what a dump shows of profiles and their OTTs", () => {
  let server: TokenServer;
  beforeAll(async () => {
    server = await startTokenServer("real", "token_plaintext");
  });
  afterAll(async () => {
    await server?.stop();
  });

  it("holds no OTT, address, phone number or anti-phishing code", async () => {
    const service = await tokenClient(server.url, { kind: "service" });
    const email = (i: number) => `secret-person-${i}@example.com`;
    const phone = (i: number) => `+1415555${String(7000 + i).padStart(4, "0")}`;
    const flow = async (i: number) => {
      const userId = `plain-${i}`;
      await service.createSecurityProfile({
        userId,
        email: { value: email(i), verified: true },
        phoneNumber: { value: phone(i), verified: true, mfaEnabled: i % 2 === 0 },
        antiPhishingCode: `Secret-Owl-${i}`,
      });
      const user = await tokenClient(server.url, { kind: "user", userId });
      await user.requestPasswordChangeToken({});
      await user.consumeToken({ operation: TokenOperation.PASSWORD_CHANGE, token: await server.codeSentTo(email(i)) });
      await service.requestPasswordRecoveryToken({ processingId: randomUUID(), key: { key: { case: "phoneNumber", value: phone(i) } } });
      await service.requestRegistrationToken({ processingId: randomUUID(), key: { key: { case: "email", value: `secret-newcomer-${i}@example.com` } } });
      if (i % 2 === 0) return;
      await user.requestAntiPhishingCodeToken({});
      await user.consumeToken({ operation: TokenOperation.ANTI_PHISHING_CODE, token: await server.codeSentTo(email(i)), antiPhishingCode: `Secret-Heron-${i}` });
      await user.requestKeyRemovalToken({ keyType: UserKeyType.PHONE_NUMBER });
    };
    // Three batches of 20 flows at once: concurrent, without queueing past a slow machine's patience.
    for (let batch = 0; batch < 3; batch++) await Promise.all(Array.from({ length: 20 }, (_, j) => flow(batch * 20 + j)));
    const codes = server.sent.map((message) => /\b(\d{6})\b/.exec(message.text)?.[1]).filter((code) => code !== undefined);
    expect(codes.length).toBeGreaterThan(150);

    const dump = [...(await redisDump(server, 100)), ...(await postgresDump(server))].join("\n");
    expect(dump).toContain("plain-1");
    expect(dump).not.toMatch(/secret-person|secret-newcomer|\+14155557|Secret-Owl|Secret-Heron/);
    // A code standing alone: the dump is full of epoch milliseconds and stream ids, long runs of
    // digits that hold some 6-digit run by chance.
    for (const code of codes) expect(dump).not.toMatch(new RegExp(`(?<![0-9])${code}(?![0-9])`));
  }, 120_000);
});
