import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { createServer, type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { exportPKCS8, generateKeyPair, type CryptoKey } from "jose";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { Channel } from "../../../src/channels/channel.js";
import type { PushProvider } from "../../../src/domain/destinations/pushTarget.js";
import type { PushMessage } from "../../../src/domain/messages/outboundMessage.js";
import { createApnsClient } from "../../../src/channels/push/apnsClient.js";
import { createPushChannel } from "../../../src/channels/push/pushChannel.js";
import { ApnsStandIn } from "./apnsStandIn.js";

const keyId = "ABC123DEFG";
const teamId = "TEAM123456";
const topic = "org.example.onetime";
const deviceToken = "a".repeat(64);
const secret = "act_8f3e91d2c0b7";

function message(provider: PushProvider, param?: string): PushMessage {
  return {
    kind: "push",
    to: { provider, deviceToken, ...(param === undefined ? {} : { param }) },
    title: "Your account",
    body: "Tap to finish creating your account",
    data: { account_creation_token: secret },
  };
}

const never = () => new AbortController().signal;

describe("APNs over HTTP/2 with a provider token", () => {
  let publicKey: CryptoKey;
  let privateKey: string;
  let clock: number;
  let sandbox: ApnsStandIn;
  let production: ApnsStandIn;
  let channel: Channel<"push">;

  beforeAll(async () => {
    const pair = await generateKeyPair("ES256", { extractable: true });
    publicKey = pair.publicKey;
    privateKey = await exportPKCS8(pair.privateKey);
  });

  beforeEach(async () => {
    clock = Date.now();
    const standInOptions = { publicKey, keyId, teamId, now: () => clock };
    [sandbox, production] = await Promise.all([ApnsStandIn.start(standInOptions), ApnsStandIn.start(standInOptions)]);
    channel = createApnsChannel(5000);
  });

  /** The channel under test; the hang test uses a short budget of its own. */
  function createApnsChannel(timeoutMs: number): Channel<"push"> {
    return createPushChannel({
      apns: { keyId, teamId, privateKey, topic, sandboxUrl: sandbox.url, productionUrl: production.url, now: () => clock },
      timeoutMs,
    });
  }

  afterEach(async () => {
    await channel.close();
    await Promise.all([sandbox.close(), production.close()]);
  });

  it("delivers apns.dev to the sandbox host with Apple's headers and payload", async () => {
    const outcome = await channel.send(message("apns.dev"), never());

    expect(outcome.status).toBe("accepted");
    expect(production.requests).toHaveLength(0);
    const [request] = sandbox.requests;
    expect(request?.path).toBe(`/3/device/${deviceToken}`);
    expect(request?.headers).toMatchObject({
      "apns-topic": topic,
      "apns-push-type": "alert",
      "apns-priority": "10",
      "apns-expiration": "0",
    });
    expect(request?.body).toEqual({
      account_creation_token: secret,
      aps: { alert: { title: "Your account", body: "Tap to finish creating your account" } },
    });
    expect(outcome).toEqual({ status: "accepted", providerMessageId: expect.stringMatching(/^[0-9a-f-]{36}$/) });
  });

  it("delivers apns to the production host", async () => {
    expect((await channel.send(message("apns"), never())).status).toBe("accepted");
    expect(production.requests).toHaveLength(1);
    expect(sandbox.requests).toHaveLength(0);
  });

  it("lets pn_param pick the topic, within the character rule", async () => {
    expect((await channel.send(message("apns", "org.example.other_app"), never())).status).toBe("accepted");
    expect(production.requests[0]?.headers["apns-topic"]).toBe("org.example.other_app");

    const outcome = await channel.send(message("apns", "org.example/other"), never());
    expect(outcome).toEqual({ status: "rejected", reason: expect.stringContaining("pn_param") });
    expect(production.requests).toHaveLength(1);
  });

  it("reuses the provider token and one connection, and signs a new token after 50 minutes", async () => {
    await channel.send(message("apns"), never());
    clock += 49 * 60_000;
    await channel.send(message("apns"), never());
    clock += 2 * 60_000;
    await channel.send(message("apns"), never());

    const [first, second, third] = production.requests;
    expect(production.refusals).toEqual([]);
    expect(second?.token).toBe(first?.token);
    expect(third?.token).not.toBe(first?.token);
    expect(third?.claims.iat).toBe(Math.floor(clock / 1000));
    expect(first?.claims).toEqual({ iss: teamId, iat: expect.any(Number) });
    expect(production.sessionsOpened).toBe(1);
  });

  it("multiplexes concurrent sends over one connection with one token", async () => {
    const outcomes = await Promise.all([1, 2, 3, 4, 5].map(() => channel.send(message("apns"), never())));
    expect(outcomes.every((outcome) => outcome.status === "accepted")).toBe(true);
    expect(new Set(production.requests.map((request) => request.token)).size).toBe(1);
    expect(production.sessionsOpened).toBe(1);
  });

  it("treats 410 Unregistered as final, without repeating the message", async () => {
    production.answer = () => ({ status: 410, reason: "Unregistered" });
    const outcome = await channel.send(message("apns"), never());
    expect(outcome).toEqual({ status: "rejected", reason: "APNs 410 Unregistered" });
  });

  it("treats 400 BadDeviceToken and DeviceTokenNotForTopic as final", async () => {
    production.answer = (_request, index) => ({ status: 400, reason: index === 0 ? "BadDeviceToken" : "DeviceTokenNotForTopic" });
    expect((await channel.send(message("apns"), never())).status).toBe("rejected");
    expect((await channel.send(message("apns"), never())).status).toBe("rejected");
  });

  it("refreshes the provider token once when APNs says it expired", async () => {
    production.answer = (_request, index) => (index === 0 ? { status: 403, reason: "ExpiredProviderToken" } : { status: 200 });
    const outcome = await channel.send(message("apns"), never());

    expect(outcome.status).toBe("accepted");
    const [refused, retried] = production.requests;
    expect(retried?.token).not.toBe(refused?.token);
    // The next send keeps the fresh token.
    await channel.send(message("apns"), never());
    expect(production.requests[2]?.token).toBe(retried?.token);
  });

  it("gives up after one refresh if the token keeps expiring", async () => {
    production.answer = () => ({ status: 403, reason: "ExpiredProviderToken" });
    const outcome = await channel.send(message("apns"), never());
    expect(outcome).toEqual({ status: "failed", reason: expect.stringContaining("ExpiredProviderToken") });
    expect(production.requests).toHaveLength(2);
  });

  it("reports InvalidProviderToken as a configuration failure, without retrying", async () => {
    production.answer = () => ({ status: 403, reason: "InvalidProviderToken" });
    const outcome = await channel.send(message("apns"), never());
    expect(outcome).toEqual({ status: "failed", reason: expect.stringContaining("InvalidProviderToken") });
    expect(production.requests).toHaveLength(1);
  });

  it("reports 429 and 503 as failed, with Retry-After when given", async () => {
    production.answer = (_request, index) =>
      index === 0 ? { status: 429, reason: "TooManyRequests" } : { status: 503, reason: "ServiceUnavailable", headers: { "retry-after": "7" } };
    expect(await channel.send(message("apns"), never())).toEqual({ status: "failed", reason: "APNs 429 TooManyRequests" });
    expect(await channel.send(message("apns"), never())).toEqual({ status: "failed", reason: "APNs 503 ServiceUnavailable", retryAfterMs: 7000 });
  });

  it("fails within the timeout when APNs never answers, and the connection stays usable", async () => {
    production.answer = (_request, index) => (index === 0 ? "hang" : { status: 200 });
    const impatient = createApnsChannel(300);
    try {
      const started = performance.now();
      const outcome = await impatient.send(message("apns"), never());
      expect(outcome).toEqual({ status: "failed", reason: "timed out after 300 ms" });
      expect(performance.now() - started).toBeLessThan(1000);

      expect((await impatient.send(message("apns"), never())).status).toBe("accepted");
      expect(production.sessionsOpened).toBe(1);
    } finally {
      await impatient.close();
    }
  });

  it("stops when the caller aborts", async () => {
    production.answer = () => "hang";
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    const outcome = await channel.send(message("apns"), controller.signal);
    expect(outcome).toEqual({ status: "failed", reason: "aborted by the caller" });
  });

  it("opens a new connection after GOAWAY", async () => {
    production.goawayAfter = 1;
    for (let sent = 0; sent < 3; sent++) {
      expect((await channel.send(message("apns"), never())).status).toBe("accepted");
    }
    expect(production.sessionsOpened).toBeGreaterThanOrEqual(2);
    expect(new Set(production.requests.map((request) => request.session)).size).toBe(3);
  });

  it("retries a stream the server refused, once, on a fresh connection", async () => {
    production.answer = (request) => (request.session === 1 ? "refuse-stream" : { status: 200 });
    expect((await channel.send(message("apns"), never())).status).toBe("accepted");
    expect(production.requests.map((request) => request.session)).toEqual([1, 2]);

    production.answer = () => "refuse-stream";
    expect(await channel.send(message("apns"), never())).toEqual({ status: "failed", reason: expect.stringContaining("REFUSED_STREAM") });
  });

  it("refuses a payload over 4 KiB without sending it", async () => {
    const big: PushMessage = { ...message("apns"), data: { blob: "x".repeat(5000) } };
    expect(await channel.send(big, never())).toEqual({ status: "rejected", reason: "payload exceeds APNs' 4096 bytes" });
    expect(production.requests).toHaveLength(0);
  });

  it("never puts the message content or the device token in a reason", async () => {
    production.answer = () => ({ status: 400, reason: "BadDeviceToken" });
    const outcome = await channel.send(message("apns"), never());
    const reason = outcome.status === "accepted" ? "" : outcome.reason;
    expect(reason).not.toContain(secret);
    expect(reason).not.toContain(deviceToken);
  });

  it("sets apns-expiration from an expiry and refuses one already past", async () => {
    const client = createApnsClient({ keyId, teamId, privateKey, topic, productionUrl: production.url, now: () => clock });
    try {
      const notification = { deviceToken, title: "t", body: "b", data: {} };
      const expiresAt = new Date(clock + 10 * 60_000);
      expect((await client.send("production", { ...notification, expiresAt }, never())).status).toBe("accepted");
      expect(production.requests[0]?.headers["apns-expiration"]).toBe(String(Math.floor(expiresAt.getTime() / 1000)));
      const past = await client.send("production", { ...notification, expiresAt: new Date(clock - 1) }, never());
      expect(past).toEqual({ status: "rejected", reason: "expired before it was sent" });
    } finally {
      await client.close();
    }
  });
});

describe("APNs that cannot be reached", () => {
  it("fails fast when the connection is refused", async () => {
    const { privateKey } = await generateKeyPair("ES256", { extractable: true });
    const closedPort = await new Promise<number>((resolve) => {
      const server = createServer().listen(0, "127.0.0.1", () => {
        const { port } = server.address() as AddressInfo;
        server.close(() => resolve(port));
      });
    });
    const channel = createPushChannel({
      apns: { keyId, teamId, privateKey: await exportPKCS8(privateKey), topic, productionUrl: `http://127.0.0.1:${closedPort}` },
    });
    try {
      const outcome = await channel.send(message("apns"), never());
      expect(outcome).toEqual({ status: "failed", reason: expect.stringMatching(/^APNs .*ECONNREFUSED/) });
    } finally {
      await channel.close();
    }
  });

  it("refuses a key that is not P-256 at construction", async () => {
    const { privateKey } = await generateKeyPair("RS256", { extractable: true });
    const rsa = await exportPKCS8(privateKey);
    expect(() => createApnsClient({ keyId, teamId, privateKey: rsa, topic })).toThrow("apns.privateKey must be a P-256 (ES256) key");
    expect(() => createApnsClient({ keyId, teamId, privateKey: "not a key", topic })).toThrow("apns.privateKey is not a PEM private key");
  });
});

describe("APNs over TLS", () => {
  it("negotiates h2 with a server whose certificate a configured CA vouches for", async () => {
    const dir = await mkdtemp(join(tmpdir(), "onetime-apns-"));
    const [certFile, keyFile] = [join(dir, "cert.pem"), join(dir, "key.pem")];
    await promisify(execFile)("openssl", [
      "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
      "-keyout", keyFile, "-out", certFile, "-days", "1", "-subj", "/CN=localhost",
      "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
    ]);
    const [cert, key] = await Promise.all([readFile(certFile, "utf8"), readFile(keyFile, "utf8")]);
    const pair = await generateKeyPair("ES256", { extractable: true });
    const apns = await ApnsStandIn.start({ publicKey: pair.publicKey, keyId, teamId, now: Date.now, tls: { key, cert } });
    const options = { keyId, teamId, privateKey: await exportPKCS8(pair.privateKey), topic, productionUrl: apns.url };
    const trusting = createPushChannel({ apns: { ...options, ca: cert } });
    const untrusting = createPushChannel({ apns: options });
    try {
      expect(apns.url).toMatch(/^https:/);
      expect((await trusting.send(message("apns"), never())).status).toBe("accepted");
      const refused = await untrusting.send(message("apns"), never());
      expect(refused).toEqual({ status: "failed", reason: expect.stringContaining("SELF_SIGNED") });
      expect(apns.requests).toHaveLength(1);
    } finally {
      await Promise.all([trusting.close(), untrusting.close()]);
      await apns.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
