import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { SmsMessage } from "../../../src/domain/messages/outboundMessage.js";
import { createWebhookChannel, type WebhookChannelOptions } from "../../../src/channels/sms/webhookChannel.js";
import {
  capturingLogger,
  json,
  neverAborted,
  refusingOrigin,
  startProviderDouble,
  type ProviderDouble,
} from "./providerDouble.js";

const message: SmsMessage = { kind: "sms", to: "+447700900123", text: "Your code is 123456" };
const bodyTemplate = '{"recipient":"{{to}}","content":{"text":"{{text}}"},"channel":"sms"}';

let provider: ProviderDouble;
beforeAll(async () => {
  provider = await startProviderDouble();
});
afterAll(() => provider.close());
beforeEach(() => {
  provider.requests.length = 0;
  provider.answerWith((_request, response) => json(response, 202, { data: { id: "msg-1" } }));
});

function channel(overrides: Partial<WebhookChannelOptions> = {}) {
  const log = capturingLogger();
  const options: WebhookChannelOptions = {
    url: `${provider.origin}/v1/sms?tenant=a`,
    bodyTemplate,
    logger: log.logger,
    ...overrides,
  };
  return { channel: createWebhookChannel(options), logLines: log.lines };
}

describe("webhook channel", () => {
  it("sends the rendered JSON with its headers and reports the id at messageIdPath", async () => {
    const { channel: webhook } = channel({
      headers: { Authorization: "Bearer hook-secret", "X-Api-Key": "k1" },
      messageIdPath: "data.id",
    });
    expect(webhook).toMatchObject({ kind: "sms", provider: "webhook" });

    await expect(webhook.send(message, neverAborted())).resolves.toEqual({
      status: "accepted",
      providerMessageId: "msg-1",
    });

    expect(provider.requests).toHaveLength(1);
    const [request] = provider.requests;
    expect(request?.method).toBe("POST");
    expect(request?.url).toBe("/v1/sms?tenant=a");
    expect(request?.headers.authorization).toBe("Bearer hook-secret");
    expect(request?.headers["x-api-key"]).toBe("k1");
    expect(request?.headers["content-type"]).toBe("application/json");
    expect(JSON.parse(request?.body ?? "")).toEqual({
      recipient: message.to,
      content: { text: message.text },
      channel: "sms",
    });
  });

  it("uses the configured method and content type", async () => {
    const { channel: webhook } = channel({ method: "PUT", headers: { "content-type": "application/vnd.sms+json" } });
    await webhook.send(message, neverAborted());
    expect(provider.requests[0]?.method).toBe("PUT");
    expect(provider.requests[0]?.headers["content-type"]).toBe("application/vnd.sms+json");
  });

  it.each([
    'he said "hi"',
    "back\\slash \\\" and \\u0041",
    "line one\nline two\r\n\ttabbed",
    "{{to}} {{{text}}} {{#x}}{{/x}} {{! no }}",
    '", "channel": "admin", "x": "',
    "nul \u0000 and \u2028 separators, emoji 🔐, <script>&amp;</script>",
  ])("carries %j through the template unchanged and cannot inject fields", async (text) => {
    await channel().channel.send({ ...message, text }, neverAborted());
    const sent: unknown = JSON.parse(provider.requests[0]?.body ?? "");
    expect(sent).toEqual({ recipient: message.to, content: { text }, channel: "sms" });
  });

  it.each([
    ["data.id", { data: { id: "abc" } }, "abc"],
    ["id", { id: 42 }, "42"],
    ["messages.0.id", { messages: [{ id: "m0" }] }, "m0"],
    ["data.id", { data: {} }, undefined],
    ["data.id", "not json", undefined],
  ])("reads the provider id at %s", async (messageIdPath, body, id) => {
    provider.answerWith((_request, response) =>
      typeof body === "string" ? response.writeHead(200).end(body) : json(response, 200, body),
    );
    const outcome = await channel({ messageIdPath }).channel.send(message, neverAborted());
    expect(outcome).toEqual(id === undefined ? { status: "accepted" } : { status: "accepted", providerMessageId: id });
  });

  it.each([400, 404, 410, 422])("rejects a %i", async (status) => {
    provider.answerWith((_request, response) => json(response, status, { error: `bad ${message.to}` }));
    await expect(channel().channel.send(message, neverAborted())).resolves.toEqual({
      status: "rejected",
      reason: `webhook: HTTP ${status}`,
    });
  });

  it.each([408, 500, 502, 503])("fails a %i", async (status) => {
    provider.answerWith((_request, response) => response.writeHead(status).end());
    const { channel: webhook, logLines } = channel();
    const outcome = await webhook.send(message, neverAborted());
    expect(outcome).toEqual({ status: "failed", reason: `webhook: HTTP ${status}` });
    expect(logLines()).toEqual([]);
  });

  it("fails a 429 with the Retry-After delay, in seconds or as a date", async () => {
    provider.answerWith((_request, response) => response.writeHead(429, { "retry-after": "3" }).end());
    await expect(channel().channel.send(message, neverAborted())).resolves.toEqual({
      status: "failed",
      reason: "webhook: HTTP 429",
      retryAfterMs: 3000,
    });

    const at = new Date(Date.now() + 60_000).toUTCString();
    provider.answerWith((_request, response) => response.writeHead(429, { "retry-after": at }).end());
    const outcome = await channel().channel.send(message, neverAborted());
    expect(outcome.status === "failed" ? outcome.retryAfterMs : undefined).toBeGreaterThan(55_000);
  });

  it.each([401, 403])("fails (not rejects) a %i, refused credentials, and logs it at error", async (status) => {
    provider.answerWith((_request, response) => response.writeHead(status).end());
    const { channel: webhook, logLines } = channel({ provider: "acme-sms" });
    const outcome = await webhook.send(message, neverAborted());
    expect(outcome).toEqual({ status: "failed", reason: `acme-sms: HTTP ${status}` });
    expect(logLines()).toEqual([expect.objectContaining({ level: "error", provider: "acme-sms", status })]);
  });

  it("fails within its timeout when the endpoint never answers", async () => {
    provider.answerWith(() => {});
    const started = performance.now();
    const outcome = await channel({ timeoutMs: 150 }).channel.send(message, neverAborted());
    const elapsed = performance.now() - started;
    expect(outcome).toEqual({ status: "failed", reason: "webhook: timed out after 150 ms" });
    expect(elapsed).toBeGreaterThanOrEqual(140);
    expect(elapsed).toBeLessThan(1000);
  });

  it("fails within its timeout when the endpoint stalls mid-answer", async () => {
    provider.answerWith((_request, response) => {
      response.writeHead(200, { "content-type": "application/json" });
      response.write('{"id":');
    });
    const outcome = await channel({ timeoutMs: 150, messageIdPath: "id" }).channel.send(message, neverAborted());
    expect(outcome).toEqual({ status: "failed", reason: "webhook: timed out after 150 ms" });
  });

  it("fails at once when the caller aborts", async () => {
    provider.answerWith(() => {});
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    const outcome = await channel().channel.send(message, controller.signal);
    expect(outcome).toEqual({ status: "failed", reason: "webhook: aborted before the provider answered" });
  });

  it("fails when the connection is refused", async () => {
    const { channel: webhook } = channel({ url: `${await refusingOrigin()}/sms` });
    await expect(webhook.send(message, neverAborted())).resolves.toEqual({
      status: "failed",
      reason: "webhook: network error ECONNREFUSED",
    });
  });

  it.each([
    ['{"to":{{to}},"text":"{{text}}"}', /inside string literals/],
    ['{"to":"{{to}}","text":"{{text}}"', /inside string literals/],
    ['{"to":"{{{to}}}","text":"{{text}}"}', /only use \{\{to\}\} and \{\{text\}\}/],
    ['{"to":"{{& to}}","text":"{{text}}"}', /only use/],
    ['{"to":"{{to}}","text":"{{#text}}x{{/text}}"}', /only use/],
    ['{"to":"{{to}}","text":"{{> partial}}"}', /only use/],
    ['{{=<% %>=}}{"to":"<%to%>","text":"<%text%>"}', /only use/],
    ['{"to":"{{to}}","text":"{{body}}"}', /found \{\{body\}\}/],
    ['{"to":"{{to}}","text":"{{text}"}', /not a valid mustache template/],
    ['{"to":"{{to}}"}', /must use \{\{text\}\}/],
    ['{"text":"{{text}}"}', /must use \{\{to\}\}/],
    ["", /must use/],
  ])("refuses the template %j at construction", (template, error) => {
    expect(() => channel({ bodyTemplate: template })).toThrow(error);
  });

  it("refuses a bad URL, header or timeout at construction", () => {
    expect(() => channel({ url: "mailto:ops@example.com" })).toThrow(/url must be http or https/);
    expect(() => channel({ url: "/relative" })).toThrow(/url is not a URL/);
    expect(() => channel({ headers: { "bad header": "x" } })).toThrow();
    expect(() => channel({ headers: { authorization: "line\nbreak" } })).toThrow();
    expect(() => channel({ timeoutMs: -1 })).toThrow(/timeoutMs/);
  });

  it("closes without error", async () => {
    await expect(channel().channel.close()).resolves.toBeUndefined();
  });
});
