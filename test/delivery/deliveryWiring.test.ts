import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSmtpServer, type TestSmtpServer } from "../channels/email/smtpTestServer.js";
import { startTestServer, type TestServer } from "../support/server.js";
import { scrapeMetrics } from "../support/metricsText.js";

/**
 * The app as configured from the environment: SMTP from SMTP_URL, the outbox relay started with
 * the server, a template rendered and queued, delivered to a real SMTP server, counted in /metrics.
 */
describe("delivery wired from config", () => {
  let smtp: TestSmtpServer;
  let server: TestServer;

  beforeAll(async () => {
    smtp = await startSmtpServer({ credentials: { user: "relay", pass: "s3cret" } });
    server = await startTestServer("real", "delivery", {
      SMTP_URL: `smtp://relay:s3cret@127.0.0.1:${smtp.port}`,
      SMTP_FROM: "Acme <no-reply@acme.example>",
      PRODUCT_NAME: "Acme",
      OUTBOX_POLL_INTERVAL_MS: "50",
    });
  });
  afterAll(async () => {
    await server?.stop();
    await smtp?.close();
  });

  function queueCode(code: string, antiPhishingCode?: string) {
    const { templates, delivery } = server.server.app;
    const parts = templates.render("verification", "email", "de", { code, expiresInMinutes: 10, antiPhishingCode });
    return delivery.queue({ kind: "email", to: "ada@example.com", ...parts }, { expiresAt: new Date(Date.now() + 600_000), template: "verification" });
  }

  it("renders, queues and delivers an email through SMTP, anti-phishing code included", async () => {
    await queueCode("482913", "BLUE-FOX");
    await expect.poll(() => smtp.received.length, { timeout: 5_000 }).toBe(1);
    const [mail] = smtp.received;
    expect(mail?.rcptTo).toEqual(["ada@example.com"]);
    expect(mail?.mail.text).toContain("482913");
    expect(mail?.mail.text).toContain("BLUE-FOX");
    expect(mail?.mail.html).toContain("BLUE-FOX");
    expect(mail?.mail.subject).not.toContain("482913");

    const metrics = await scrapeMetrics(server.metricsUrl);
    expect(metrics).toMatch(/onetime_delivery_attempts_total\{kind="email",provider="smtp",outcome="accepted"\} 1/);
    // Sent: neither queue holds anything; the pool's figures are there.
    expect(metrics).toMatch(/onetime_queue_messages\{queue="outbox"\} 0/);
    expect(metrics).toMatch(/onetime_queue_messages\{queue="secrets"\} 0/);
    expect(metrics).toMatch(/onetime_queue_oldest_age_seconds\{queue="outbox"\} 0/);
    expect(metrics).toMatch(/onetime_postgres_pool_connections\{state="waiting"\} 0/);
  });

  it("shows a message waiting in /metrics, with its age, while SMTP refuses it", async () => {
    smtp.refusal = { at: "RCPT TO", code: 451 };
    try {
      const id = await queueCode("777000");
      await expect
        .poll(async () => /onetime_queue_messages\{queue="outbox"\} 1/.test(await scrapeMetrics(server.metricsUrl)), { timeout: 5_000 })
        .toBe(true);
      // Queued a minute ago, by the database's clock, which the age is read against: no waiting.
      const db = server.server.app.stores.db;
      await db("outbox_messages").where({ id }).update({ created_at: db.raw("now() - interval '60 seconds'") });
      // Scrapes within a second share one read of the queues: polled until a fresh read shows it.
      const oldestAge = async () => Number(/onetime_queue_oldest_age_seconds\{queue="outbox"\} ([\d.]+)/.exec(await scrapeMetrics(server.metricsUrl))?.[1]);
      await expect.poll(oldestAge, { timeout: 5_000 }).toBeGreaterThanOrEqual(60);
    } finally {
      smtp.refusal = undefined;
    }
    await expect.poll(async () => /onetime_queue_messages\{queue="outbox"\} 0/.test(await scrapeMetrics(server.metricsUrl)), { timeout: 10_000 }).toBe(true);
  });

  it("retries after an SMTP 4xx and delivers once the server takes mail again", async () => {
    smtp.refusal = { at: "RCPT TO", code: 451 };
    const before = smtp.received.length;
    const id = await queueCode("777001");
    const row = () => server.server.app.stores.db("outbox_messages").where({ id }).first<{ status: string; attempts: number }>();
    // The refused attempt is on record and the message waits for its retry.
    await expect.poll(async () => ({ ...(await row()) }), { timeout: 5_000 }).toMatchObject({ status: "pending", attempts: 1 });
    smtp.refusal = undefined;
    await expect.poll(async () => (await row())?.status, { timeout: 10_000 }).toBe("sent");
    expect(await row()).toMatchObject({ attempts: 2 });
    expect(smtp.received.length).toBe(before + 1);
  });

  it("gives up at once on an SMTP 5xx: the mailbox will not appear by retrying", async () => {
    smtp.refusal = { at: "RCPT TO", code: 550 };
    const id = await queueCode("777002");
    const row = () => server.server.app.stores.db("outbox_messages").where({ id }).first<{ status: string; attempts: number; payload: string | null }>();
    await expect.poll(async () => (await row())?.status, { timeout: 5_000 }).toBe("dead");
    expect(await row()).toMatchObject({ attempts: 1, payload: null });
    smtp.refusal = undefined;
  });
});
