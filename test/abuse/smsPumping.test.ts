import { randomUUID } from "node:crypto";
import { Code, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TokenOperation, TokenService } from "../../gen/onetime/v1/token_service_pb.js";
import { describePhoneNumber } from "../../src/channels/sms/describePhoneNumber.js";
import { backends } from "../support/server.js";
import { startSmsWebhook, type SmsWebhook } from "../support/smsWebhook.js";
import { signToken } from "../support/tokens.js";
import { failure, outcome } from "../support/verificationClient.js";
import { freshEmail, freshUserId, startTokenServer, tokenClient, type TokenClient, type TokenServer } from "../tokens/tokenTestSupport.js";

/** Numbers whose texts pay the attacker per message: never sent, whatever else happens. */
const premiumNumbers = ["+449098790000", "+37190123456", "+33899123456", "+19005550123", "+881612345678", "+870773123456"];

/** Ordinary UK mobiles in ten prefixes (+447400… to +447409…) that the bot has texted and never validates. */
const pumpedNumber = (n: number) => `+44740${n % 10}${String(100_000 + Math.floor(n / 10) * 7).padStart(6, "0")}`;
/** Mobile prefixes the real users' numbers are in: German ones, and British ones the bot does not pump. */
const realPrefixes = ["1511", "1512", "1515", "1516", "1517", "1520", "1522", "1570"];
const ukPrefixes = ["7410", "7411", "7412", "7413", "7414", "7415", "7500", "7501", "7800", "7801"];
const prefixOf = (number: string) => number.slice(0, 7);

/**
 * SMS pumping on loopback, with the server's default abuse controls: a bot with 1,000 throwaway
 * accounts (key additions) and 1,000 client addresses behind the load balancer (public
 * registrations), plus forged X-Forwarded-For from a peer that is no proxy, texting premium
 * numbers and ordinary mobiles that never validate; real users in the same run, in the pumped
 * country and another, add and verify their numbers. Bound: premium numbers get nothing; the pumped country gets at most
 * SMS_CONVERSION_COUNTRY_MIN_SENDS (200) texts, no prefix more than SMS_PREFIX_HOURLY_LIMIT (20).
 */
describe.each(backends)("an SMS pumping run (%s)", (backend) => {
  let server: TokenServer;
  let webhook: SmsWebhook;
  let service: TokenClient;
  let anyone: TokenClient;

  beforeAll(async () => {
    webhook = await startSmsWebhook();
    server = await startTokenServer(backend, "pumping", {
      ...webhook.env,
      TOKEN_PUBLIC_REQUESTS: "true",
      // The load balancer is 127.0.0.1; 127.0.0.2 is a caller that reaches the port directly.
      TRUSTED_PROXIES: "127.0.0.1/32",
      TOKEN_CLIENT_LIMIT: "20",
      // The defaults, which the other token suites loosen.
      SMS_PREFIX_HOURLY_LIMIT: "20",
      SMS_CONVERSION_MIN_RATIO: "0.2",
    });
    service = await tokenClient(server.url, { kind: "service" });
    anyone = await tokenClient(server.url, { kind: "public" });
  }, 60_000);

  afterAll(async () => {
    await server?.stop();
    await webhook?.close();
  });

  it("stops the bot with the expected reasons after a bounded number of texts, and lets every real user through", async () => {
    const answers = new Map<string, string[]>();
    const record = (number: string, reason: string) => answers.set(number, [...(answers.get(number) ?? []), reason]);
    const realUsers: string[] = [];

    const botAccount = async (n: number) => {
      const userId = freshUserId(`bot${n}`);
      await service.createSecurityProfile({ userId, email: { value: freshEmail(`bot${n}`), verified: true } });
      const number = n % 5 === 0 ? premiumNumbers[n % premiumNumbers.length]! : pumpedNumber(n);
      const headers = { authorization: `Bearer ${await signToken({ subject: userId })}` };
      record(number, (await outcome(anyone.requestKeyAdditionToken({ newKey: { key: { case: "phoneNumber", value: number } } }, { headers }))));
    };
    const botAddress = async (n: number) => {
      const number = n % 5 === 0 ? premiumNumbers[n % premiumNumbers.length]! : pumpedNumber(1_000 + n);
      const headers = { "x-forwarded-for": `203.0.${n >> 8}.${n & 255}` };
      record(number, (await outcome(anyone.requestRegistrationToken({ processingId: randomUUID(), key: { key: { case: "phoneNumber", value: number } } }, { headers }))));
    };
    const realUser = async (n: number) => {
      const userId = freshUserId(`real${n}`);
      await service.createSecurityProfile({ userId, email: { value: freshEmail(`real${n}`), verified: true } });
      // Half in another country, half in the pumped one (in prefixes the bot does not use), spread as real users are.
      const phone = n % 2 === 0 ? `+49${realPrefixes[(n / 2) % realPrefixes.length]}${String(2_340_000 + n)}` : `+44${ukPrefixes[(n - 1) / 2 % ukPrefixes.length]}${String(230_000 + n)}`;
      const asUser = await tokenClient(server.url, { kind: "user", userId });
      await asUser.requestKeyAdditionToken({ newKey: { key: { case: "phoneNumber", value: phone } } });
      const consumed = await asUser.consumeToken({ operation: TokenOperation.KEY_ADDITION, token: await codeTextedTo(webhook, phone) });
      if (consumed.profile?.phoneNumber === phone) realUsers.push(phone);
    };

    for (let round = 0; round < 40; round++) {
      const batch: Promise<void>[] = [];
      for (let i = 0; i < 25; i++) {
        const n = round * 25 + i;
        batch.push(botAccount(n), botAddress(n));
      }
      await Promise.all(batch);
      await realUser(round);
    }

    // The forged headers from a peer that is no proxy: one address, whatever the header says.
    const direct = createClient(
      TokenService,
      createConnectTransport({ baseUrl: server.url, httpVersion: "1.1", nodeOptions: { localAddress: "127.0.0.2" } }),
    );
    const forged: string[] = [];
    for (let n = 0; n < 30; n++) {
      const call = direct.requestRegistrationToken(
        { processingId: randomUUID(), key: { key: { case: "phoneNumber", value: `+3361${String(2_345_600 + n)}` } } },
        { headers: { "x-forwarded-for": `192.0.2.${n}` } },
      );
      forged.push((await outcome(call)));
    }
    expect(forged.filter((reason) => reason === "OK")).toHaveLength(20);
    expect(forged.slice(20)).toEqual(Array(10).fill("CLIENT_LIMIT_REACHED"));

    // Every real user added and verified a number.
    expect(realUsers).toHaveLength(40);

    // Premium numbers: refused by the destination policy every time, never texted.
    const reasons = (numbers: string[]) => new Set(numbers.flatMap((number) => answers.get(number) ?? []));
    expect(reasons(premiumNumbers)).toEqual(new Set(["DESTINATION_NOT_ALLOWED"]));

    // Ordinary mobiles: a bounded number went out, then the traffic rules refused.
    const pumped = [...answers.keys()].filter((number) => !premiumNumbers.includes(number));
    const admitted = pumped.flatMap((number) => (answers.get(number) ?? []).filter((reason) => reason === "OK").map(() => number));
    expect(admitted.length).toBeLessThanOrEqual(200);
    const refusedReasons = [...reasons(pumped)].filter((reason) => reason !== "OK").sort();
    expect(refusedReasons).toContain("CONVERSION_TOO_LOW");
    for (const reason of refusedReasons) expect(["CONVERSION_TOO_LOW", "TRAFFIC_LIMIT_REACHED"]).toContain(reason);
    const perPrefix = new Map<string, number>();
    for (const number of admitted) perPrefix.set(prefixOf(number), (perPrefix.get(prefixOf(number)) ?? 0) + 1);
    for (const count of perPrefix.values()) expect(count).toBeLessThanOrEqual(20);

    // What reached the provider: exactly what was admitted, no premium number among it.
    await expect.poll(() => webhook.received.filter((sms) => pumped.includes(sms.to)).length, { timeout: 15_000 }).toBe(admitted.length);
    expect(webhook.received.filter((sms) => premiumNumbers.includes(sms.to))).toEqual([]);
    for (const number of premiumNumbers) expect(describePhoneNumber(number).type).not.toBe("mobile");
  }, 120_000);

  it("names the refused number's country and type in the error", async () => {
    const refused = await failure(anyone.requestRegistrationToken({ processingId: randomUUID(), key: { key: { case: "phoneNumber", value: "+449098790000" } } }));
    expect(refused).toMatchObject({ code: Code.PermissionDenied, reason: "DESTINATION_NOT_ALLOWED", metadata: { country: "GB", number_type: "premium_rate" } });
  });
});

/** The code in the latest text to `to`, waiting for it to arrive. */
async function codeTextedTo(webhook: SmsWebhook, to: string): Promise<string> {
  let code: string | undefined;
  await expect
    .poll(() => (code = /\b(\d{6})\b/.exec(webhook.received.filter((sms) => sms.to === to).at(-1)?.message ?? "")?.[1]), { timeout: 15_000, message: `a text to ${to}` })
    .toBeDefined();
  return code!;
}
