import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { SmsMessage } from "../../../src/domain/messages/outboundMessage.js";
import { createTwilioChannel, type TwilioChannelOptions } from "../../../src/channels/sms/twilioChannel.js";
import {
  capturingLogger,
  json,
  neverAborted,
  refusingOrigin,
  startProviderDouble,
  type ProviderDouble,
} from "./providerDouble.js";

const message: SmsMessage = { kind: "sms", to: "+14155552671", text: "Your code is 123456 & that's it=ok +ü" };

let provider: ProviderDouble;
beforeAll(async () => {
  provider = await startProviderDouble();
});
afterAll(() => provider.close());
beforeEach(() => {
  provider.requests.length = 0;
  provider.answerWith((_request, response) => json(response, 201, { sid: "SM0123", status: "queued" }));
});

function channel(overrides: Partial<TwilioChannelOptions> = {}) {
  const log = capturingLogger();
  const options = {
    baseUrl: provider.origin,
    accountSid: "AC123",
    authPassword: "auth-token",
    from: "+15005550006",
    logger: log.logger,
    ...overrides,
  } as TwilioChannelOptions;
  return { channel: createTwilioChannel(options), logLines: log.lines };
}

describe("Twilio channel", () => {
  it("posts the form to the account's Messages resource with Basic auth and reports the sid", async () => {
    const { channel: twilio } = channel();
    expect(twilio).toMatchObject({ kind: "sms", provider: "twilio" });

    await expect(twilio.send(message, neverAborted())).resolves.toEqual({
      status: "accepted",
      providerMessageId: "SM0123",
    });

    expect(provider.requests).toHaveLength(1);
    const [request] = provider.requests;
    expect(request?.method).toBe("POST");
    expect(request?.url).toBe("/2010-04-01/Accounts/AC123/Messages.json");
    expect(request?.headers.authorization).toBe(`Basic ${Buffer.from("AC123:auth-token").toString("base64")}`);
    expect(request?.headers["content-type"]).toBe("application/x-www-form-urlencoded");
    const form = new URLSearchParams(request?.body);
    expect(Object.fromEntries(form)).toEqual({ To: message.to, From: "+15005550006", Body: message.text });
  });

  it("authenticates with an API key, sends through a messaging service and keeps a base path", async () => {
    const { channel: twilio } = channel({
      baseUrl: `${provider.origin}/api/laml/`,
      authUsername: "SKkey",
      authPassword: "key-secret",
      from: undefined,
      messagingServiceSid: "MG456",
      provider: "signalwire",
    });
    expect(twilio.provider).toBe("signalwire");

    await expect(twilio.send(message, neverAborted())).resolves.toMatchObject({ status: "accepted" });

    const [request] = provider.requests;
    expect(request?.url).toBe("/api/laml/2010-04-01/Accounts/AC123/Messages.json");
    expect(request?.headers.authorization).toBe(`Basic ${Buffer.from("SKkey:key-secret").toString("base64")}`);
    expect(Object.fromEntries(new URLSearchParams(request?.body))).toEqual({
      To: message.to,
      MessagingServiceSid: "MG456",
      Body: message.text,
    });
  });

  it("accepts a 2xx without a readable sid", async () => {
    provider.answerWith((_request, response) => response.writeHead(200).end("queued"));
    await expect(channel().channel.send(message, neverAborted())).resolves.toEqual({ status: "accepted" });
  });

  it.each([
    [21211, "invalid 'To' number"],
    [21614, "not a mobile number"],
    [21610, "unsubscribed"],
    [21408, "region"],
  ])("rejects a 400 with recipient error %i, without the provider's message or the text", async (code, described) => {
    provider.answerWith((_request, response) =>
      json(response, 400, { code, message: `The 'To' number ${message.to} is bad`, status: 400 }),
    );
    const outcome = await channel().channel.send(message, neverAborted());
    expect(outcome.status).toBe("rejected");
    if (outcome.status !== "rejected") return;
    expect(outcome.reason).toContain(`error ${code}`);
    expect(outcome.reason).toContain(described);
    expect(outcome.reason).not.toContain(message.to);
    expect(outcome.reason).not.toContain("123456");
  });

  it.each([
    [401, 20003, "credentials refused (HTTP 401, error 20003)"],
    [403, 20003, "credentials refused (HTTP 403, error 20003)"],
    [400, 21606, "HTTP 400, error 21606"],
    [404, 20404, "HTTP 404, error 20404"],
  ])("fails (not rejects) a %i with error %i, our misconfiguration, and logs it", async (status, code, reason) => {
    provider.answerWith((_request, response) => json(response, status, { code, message: "nope", status }));
    const { channel: twilio, logLines } = channel();
    const outcome = await twilio.send(message, neverAborted());
    expect(outcome).toEqual({ status: "failed", reason: `twilio: ${reason}` });
    expect(logLines()).toEqual([
      expect.objectContaining({ level: "error", provider: "twilio", status, errorCode: code }),
    ]);
  });

  it("fails a 429 with the Retry-After delay", async () => {
    provider.answerWith((_request, response) => json(response, 429, { code: 20429 }, { "retry-after": "7" }));
    const { channel: twilio, logLines } = channel();
    await expect(twilio.send(message, neverAborted())).resolves.toEqual({
      status: "failed",
      reason: "twilio: rate limited (HTTP 429, error 20429)",
      retryAfterMs: 7000,
    });
    expect(logLines()).toEqual([]);
  });

  it.each([500, 502, 503])("fails a %i", async (status) => {
    provider.answerWith((_request, response) => response.writeHead(status).end("<html>down</html>"));
    await expect(channel().channel.send(message, neverAborted())).resolves.toEqual({
      status: "failed",
      reason: `twilio: HTTP ${status}`,
    });
  });

  it("does not follow a redirect", async () => {
    provider.answerWith((_request, response) => response.writeHead(302, { location: "/elsewhere" }).end());
    const outcome = await channel().channel.send(message, neverAborted());
    expect(outcome).toEqual({ status: "failed", reason: "twilio: HTTP 302" });
    expect(provider.requests).toHaveLength(1);
  });

  it("fails within its timeout when the provider never answers", async () => {
    provider.answerWith(() => {});
    const started = performance.now();
    const outcome = await channel({ timeoutMs: 150 }).channel.send(message, neverAborted());
    const elapsed = performance.now() - started;
    expect(outcome).toEqual({ status: "failed", reason: "twilio: timed out after 150 ms" });
    expect(elapsed).toBeGreaterThanOrEqual(140);
    expect(elapsed).toBeLessThan(1000);
  });

  it("fails at once when the caller aborts", async () => {
    provider.answerWith(() => {});
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    const started = performance.now();
    const outcome = await channel({ timeoutMs: 5000 }).channel.send(message, controller.signal);
    expect(outcome).toEqual({ status: "failed", reason: "twilio: aborted before the provider answered" });
    expect(performance.now() - started).toBeLessThan(1000);

    await expect(channel().channel.send(message, AbortSignal.abort())).resolves.toMatchObject({ status: "failed" });
  });

  it("fails when the connection is refused", async () => {
    const { channel: twilio } = channel({ baseUrl: await refusingOrigin() });
    await expect(twilio.send(message, neverAborted())).resolves.toEqual({
      status: "failed",
      reason: "twilio: network error ECONNREFUSED",
    });
  });

  it("refuses incomplete or contradictory options at construction", () => {
    expect(() => channel({ from: undefined })).toThrow(/exactly one of from and messagingServiceSid/);
    expect(() => channel({ messagingServiceSid: "MG1" })).toThrow(/exactly one of from and messagingServiceSid/);
    expect(() => channel({ baseUrl: "ftp://example.com" })).toThrow(/baseUrl/);
    expect(() => channel({ baseUrl: "not a url" })).toThrow(/baseUrl/);
    expect(() => channel({ accountSid: "" })).toThrow(/accountSid/);
    expect(() => channel({ authPassword: "" })).toThrow(/authPassword/);
    expect(() => channel({ timeoutMs: 0 })).toThrow(/timeoutMs/);
  });

  it("closes without error", async () => {
    await expect(channel().channel.close()).resolves.toBeUndefined();
  });
});
