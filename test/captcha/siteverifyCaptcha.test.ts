import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { siteverifyCaptcha } from "../../src/captcha/siteverifyCaptcha.js";
import { CaptchaUnavailable } from "../../src/domain/captcha.js";
import { createLogger } from "../../src/observability/logger.js";
import { capturingLogger } from "../support/capturingLogger.js";

/** A siteverify endpoint that answers what `answer` says for each form it gets. */
describe("the siteverify CAPTCHA adapter (hCaptcha, reCAPTCHA, Turnstile)", () => {
  let server: Server;
  let url: string;
  const forms: URLSearchParams[] = [];
  let answer: (form: URLSearchParams) => { status: number; body: string } = () => ({ status: 200, body: '{"success":true}' });

  beforeAll(async () => {
    server = createServer((request, response) => {
      let body = "";
      request.on("data", (chunk: Buffer) => (body += chunk.toString("utf8")));
      request.on("end", () => {
        const form = new URLSearchParams(body);
        forms.push(form);
        const { status, body: reply } = answer(form);
        response.writeHead(status, { "content-type": "application/json" }).end(reply);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/siteverify`;
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  const captcha = () => siteverifyCaptcha({ verifyUrl: url, secret: "s3cret", timeoutMs: 500, logger: createLogger("silent") });

  it("posts secret, response and remote address as a form, and passes on success", async () => {
    answer = () => ({ status: 200, body: '{"success":true,"hostname":"example.com"}' });
    expect(await captcha().verify("answer-1", "198.51.100.7")).toBe(true);
    expect(Object.fromEntries(forms.at(-1)!)).toEqual({ secret: "s3cret", response: "answer-1", remoteip: "198.51.100.7" });
  });

  it("fails a refused answer", async () => {
    answer = () => ({ status: 200, body: '{"success":false,"error-codes":["invalid-input-response"]}' });
    expect(await captcha().verify("wrong", undefined)).toBe(false);
    expect(forms.at(-1)!.has("remoteip")).toBe(false);
  });

  it("refuses a real answer solved on another host, for another action, or scored below the minimum, and logs why", async () => {
    const captured = capturingLogger("warn");
    const strict = siteverifyCaptcha({
      verifyUrl: url,
      secret: "s3cret",
      timeoutMs: 500,
      logger: captured.logger,
      expect: { hostnames: ["signup.example.com"], action: "account_creation", minScore: 0.5 },
    });
    const reply = (fields: Record<string, unknown>) => () => ({ status: 200, body: JSON.stringify({ success: true, hostname: "signup.example.com", action: "account_creation", score: 0.9, ...fields }) });
    answer = reply({});
    expect(await strict.verify("answer", undefined)).toBe(true);
    answer = reply({ hostname: "SIGNUP.example.com" });
    expect(await strict.verify("answer", undefined)).toBe(true);
    for (const [fields, why] of [
      [{ hostname: "phish.example.net" }, "hostname phish.example.net is not in CAPTCHA_HOSTNAMES"],
      [{ hostname: undefined }, "hostname (none) is not in CAPTCHA_HOSTNAMES"],
      [{ action: "login" }, "action login is not CAPTCHA_ACTION"],
      [{ score: 0.1 }, "score 0.1 is below CAPTCHA_MIN_SCORE"],
      [{ score: undefined }, "score (none) is below CAPTCHA_MIN_SCORE"],
    ] as const) {
      answer = reply(fields);
      expect(await strict.verify("answer", undefined)).toBe(false);
      expect(captured.records.at(-1)).toMatchObject({ mismatch: why });
    }
    // Without expectations, any successful answer passes, as before.
    answer = reply({ hostname: "phish.example.net", score: 0 });
    expect(await captcha().verify("answer", undefined)).toBe(true);
  });

  it("is unavailable, not a failed CAPTCHA, when our secret is refused, the provider errs or does not answer in time", async () => {
    for (const reply of [
      () => ({ status: 200, body: '{"success":false,"error-codes":["invalid-input-secret"]}' }),
      () => ({ status: 500, body: "" }),
      () => ({ status: 200, body: "not json" }),
    ]) {
      answer = reply;
      await expect(captcha().verify("answer", undefined)).rejects.toBeInstanceOf(CaptchaUnavailable);
    }
    const hanging = createServer(() => undefined);
    await new Promise<void>((resolve) => hanging.listen(0, "127.0.0.1", resolve));
    try {
      const slow = siteverifyCaptcha({ verifyUrl: `http://127.0.0.1:${(hanging.address() as AddressInfo).port}/`, secret: "s", timeoutMs: 100, logger: createLogger("silent") });
      await expect(slow.verify("answer", undefined)).rejects.toBeInstanceOf(CaptchaUnavailable);
    } finally {
      hanging.closeAllConnections();
      await new Promise<void>((resolve) => hanging.close(() => resolve()));
    }
  });
});
