import { exportPKCS8, generateKeyPair, type CryptoKey } from "jose";
import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { Channel } from "../../../src/channels/channel.js";
import type { PushMessage } from "../../../src/domain/messages/outboundMessage.js";
import { createFcmClient } from "../../../src/channels/push/fcmClient.js";
import type { ServiceAccountKey } from "../../../src/channels/push/googleAccessToken.js";
import { createPushChannel } from "../../../src/channels/push/pushChannel.js";
import { GoogleStandIn } from "./googleStandIn.js";

const clientEmail = "onetime@demo-project.iam.gserviceaccount.com";
const deviceToken = "dXk2mN9pQ:APA91bH-abc_DEF123";
const secret = "act_5b1c0e77aa42";

const message: PushMessage = {
  kind: "push",
  to: { provider: "fcm", deviceToken },
  title: "Your account",
  body: "Tap to finish creating your account",
  data: { account_creation_token: secret },
};

function fcmError(status: number, grpcStatus: string, errorCode: string): { status: number; body: unknown } {
  return {
    status,
    body: {
      error: {
        code: status,
        message: `Requested entity was not found. ${secret}`,
        status: grpcStatus,
        details: [{ "@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", errorCode }],
      },
    },
  };
}

const never = () => new AbortController().signal;

describe("FCM HTTP v1 with a service account", () => {
  let publicKey: CryptoKey;
  let privateKey: string;
  let clock: number;
  let google: GoogleStandIn;
  let serviceAccount: ServiceAccountKey;
  let channel: Channel<"push">;

  beforeAll(async () => {
    const pair = await generateKeyPair("RS256", { extractable: true });
    publicKey = pair.publicKey;
    privateKey = await exportPKCS8(pair.privateKey);
  });

  beforeEach(async () => {
    clock = Date.now();
    google = await GoogleStandIn.start({ publicKey, clientEmail, now: () => clock });
    serviceAccount = {
      client_email: clientEmail,
      private_key: privateKey,
      private_key_id: "key-1",
      token_uri: google.tokenUrl,
      project_id: "demo-project",
    };
    channel = createFcmChannel(5000);
  });

  /** The channel under test; hang tests use a short budget of their own. */
  function createFcmChannel(timeoutMs: number): Channel<"push"> {
    return createPushChannel({ fcm: { serviceAccount: JSON.stringify(serviceAccount), baseUrl: google.url, now: () => clock }, timeoutMs });
  }

  afterEach(async () => {
    await channel.close();
    await google.close();
  });

  it("trades a signed assertion for a token and sends the message", async () => {
    const outcome = await channel.send(message, never());

    expect(outcome).toEqual({ status: "accepted", providerMessageId: "projects/demo/messages/1" });
    expect(google.refusals).toEqual([]);
    expect(google.assertions[0]).toMatchObject({
      iss: clientEmail,
      aud: google.tokenUrl,
      scope: "https://www.googleapis.com/auth/firebase.messaging",
      iat: Math.floor(clock / 1000),
      exp: Math.floor(clock / 1000) + 3600,
    });
    const [send] = google.sends;
    expect(send?.path).toBe("/v1/projects/demo-project/messages:send");
    expect(send?.accessToken).toBe(google.issuedTokens[0]);
    expect(send?.body).toEqual({
      message: {
        token: deviceToken,
        notification: { title: "Your account", body: "Tap to finish creating your account" },
        data: { account_creation_token: secret },
        android: { priority: "high" },
        apns: { headers: { "apns-priority": "10", "apns-push-type": "alert" } },
      },
    });
  });

  it("reuses the access token until shortly before it expires", async () => {
    await channel.send(message, never());
    clock += 3000 * 1000;
    await channel.send(message, never());
    expect(google.issuedTokens).toHaveLength(1);

    clock += 560 * 1000; // 3560 s: inside the last minute of the token's 3599 s
    await channel.send(message, never());
    expect(google.issuedTokens).toHaveLength(2);
    expect(google.sends.map((send) => send.accessToken)).toEqual([google.issuedTokens[0], google.issuedTokens[0], google.issuedTokens[1]]);
  });

  it("fetches one token for concurrent sends", async () => {
    const outcomes = await Promise.all([1, 2, 3].map(() => channel.send(message, never())));
    expect(outcomes.map((outcome) => outcome.status)).toEqual(["accepted", "accepted", "accepted"]);
    expect(google.issuedTokens).toHaveLength(1);
  });

  it("refreshes the access token once on 401 and retries", async () => {
    await channel.send(message, never());
    google.revokeIssuedTokens();

    expect((await channel.send(message, never())).status).toBe("accepted");
    expect(google.issuedTokens).toHaveLength(2);
    expect(google.sends.at(-1)?.accessToken).toBe(google.issuedTokens[1]);
  });

  it("treats 404 UNREGISTERED as final, without repeating Google's message", async () => {
    google.sendAnswer = () => fcmError(404, "NOT_FOUND", "UNREGISTERED");
    const outcome = await channel.send(message, never());
    expect(outcome).toEqual({ status: "rejected", reason: "FCM 404 UNREGISTERED" });
  });

  it("treats 400 INVALID_ARGUMENT as final", async () => {
    google.sendAnswer = () => fcmError(400, "INVALID_ARGUMENT", "INVALID_ARGUMENT");
    expect(await channel.send(message, never())).toEqual({ status: "rejected", reason: "FCM 400 INVALID_ARGUMENT" });
  });

  it("reports 503 and 429 as failed, with Retry-After", async () => {
    google.sendAnswer = (_request, index) =>
      index === 0
        ? { ...fcmError(503, "UNAVAILABLE", "UNAVAILABLE"), headers: { "retry-after": "30" } }
        : { ...fcmError(429, "RESOURCE_EXHAUSTED", "QUOTA_EXCEEDED"), headers: { "retry-after": new Date(clock + 60_000).toUTCString() } };
    expect(await channel.send(message, never())).toEqual({ status: "failed", reason: "FCM 503 UNAVAILABLE", retryAfterMs: 30_000 });
    const quota = await channel.send(message, never());
    expect(quota).toMatchObject({ status: "failed", reason: "FCM 429 QUOTA_EXCEEDED" });
    expect(quota.status === "failed" ? quota.retryAfterMs : undefined).toBeGreaterThan(58_000);
  });

  it("fails within the timeout when FCM never answers", async () => {
    google.sendAnswer = () => "hang";
    const impatient = createFcmChannel(300);
    const started = performance.now();
    expect(await impatient.send(message, never())).toEqual({ status: "failed", reason: "timed out after 300 ms" });
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it("fails within the timeout when the token endpoint never answers", async () => {
    google.tokenAnswer = () => "hang";
    expect(await createFcmChannel(300).send(message, never())).toEqual({ status: "failed", reason: "timed out after 300 ms" });
  });

  it("reports a refused assertion as failed, and asks again next time", async () => {
    google.tokenAnswer = () => ({ status: 400, body: { error: "invalid_grant", error_description: "Invalid JWT Signature." } });
    expect(await channel.send(message, never())).toEqual({ status: "failed", reason: "Google token endpoint 400 invalid_grant" });
    google.tokenAnswer = undefined;
    expect((await channel.send(message, never())).status).toBe("accepted");
  });

  it("sets android.ttl and apns-expiration from an expiry", async () => {
    const client = createFcmClient({ serviceAccount, baseUrl: google.url, now: () => clock });
    const expiresAt = new Date(clock + 90_000);
    expect((await client.send({ deviceToken, title: "t", body: "b", data: {}, expiresAt }, never())).status).toBe("accepted");
    expect(google.sends[0]?.body).toMatchObject({
      message: {
        android: { priority: "high", ttl: "90s" },
        apns: { headers: { "apns-expiration": String(Math.floor(expiresAt.getTime() / 1000)) } },
      },
    });
    await client.close();
  });

  it("refuses a service account without its fields or with a non-RSA key", async () => {
    expect(() => createFcmClient({ serviceAccount: "{}" })).toThrow("fcm.serviceAccount has no client_email");
    const ec = await exportPKCS8((await generateKeyPair("ES256", { extractable: true })).privateKey);
    expect(() => createFcmClient({ serviceAccount: { ...serviceAccount, private_key: ec } })).toThrow("must be an RSA");
  });
});
