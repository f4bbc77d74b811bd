import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { VerificationMethod } from "../../gen/onetime/v1/verification_service_pb.js";
import { startSmtpServer, type TestSmtpServer } from "../channels/email/smtpTestServer.js";
import { startTestServer, type TestServer } from "../support/server.js";
import { verificationClient, type VerificationClient } from "../support/verificationClient.js";

/** A JSON webhook standing in for an SMS provider: it records what it was asked to send. */
async function startSmsWebhook(): Promise<{ server: Server; url: string; received: Array<{ to: string; message: string }> }> {
  const received: Array<{ to: string; message: string }> = [];
  const server = createServer((request, response) => {
    let body = "";
    request.on("data", (chunk: Buffer) => (body += chunk.toString()));
    request.on("end", () => {
      received.push(JSON.parse(body) as { to: string; message: string });
      response.writeHead(200, { "content-type": "application/json" }).end('{"id":"sms-1"}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/send`, received };
}

// Codes wait in Redis beside their message: on Cluster the queue is sharded over the primaries.
describe.each(["real", "cluster"] as const)("verification codes reach people through the channels (%s)", (backend) => {
  let smtp: TestSmtpServer;
  let sms: Awaited<ReturnType<typeof startSmsWebhook>>;
  let server: TestServer;
  let client: VerificationClient;

  beforeAll(async () => {
    smtp = await startSmtpServer({ credentials: { user: "relay", pass: "pw" } });
    sms = await startSmsWebhook();
    server = await startTestServer(backend, "verification-delivery", {
      SMTP_URL: `smtp://relay:pw@127.0.0.1:${smtp.port}`,
      SMTP_FROM: "Acme <no-reply@acme.example>",
      SMS_PROVIDER: "webhook",
      SMS_WEBHOOK_URL: sms.url,
      SMS_WEBHOOK_BODY_TEMPLATE: '{"to":"{{to}}","message":"{{text}}"}',
      OUTBOX_POLL_INTERVAL_MS: "50",
    });
    client = await verificationClient(server.url, "connect-json");
  });
  afterAll(async () => {
    await server?.stop();
    await smtp?.close();
    await new Promise((resolve) => sms?.server.close(resolve));
  });

  it("emails a generated code that then validates, with the caller's template", async () => {
    const { verification } = await client.initiateVerification({
      method: VerificationMethod.EMAIL,
      consumer: "Ada@Example.com",
      template: {
        subject: "Confirm your address",
        textBody: "Code: {{{CODE}}} (id {{{VERIFICATION_ID}}})",
        htmlBody: "<p>Code: <b>{{{CODE}}}</b></p>",
      },
      generateCode: { length: 8 },
    });
    expect(verification?.consumer).toBe("Ada@example.com");
    await expect.poll(() => smtp.received.length, { timeout: 5_000 }).toBe(1);
    const mail = smtp.received[0]!.mail;
    const code = /Code: (\d{8})/.exec(mail.text ?? "")?.[1];
    expect(code).toBeDefined();
    expect(mail.text).toContain(verification!.verificationId);
    expect(mail.html).toContain(`<b>${code}</b>`);
    const validated = await client.validateVerification({ verificationId: verification!.verificationId, code: code! });
    expect(validated.verification?.verificationId).toBe(verification!.verificationId);
  });

  it("texts a generated code to an E.164 number that then validates", async () => {
    const { verification } = await client.initiateVerification({ method: VerificationMethod.PHONE, consumer: "+44 20 7946 0958", locale: "de" });
    expect(verification?.consumer).toBe("+442079460958");
    await expect.poll(() => sms.received.length, { timeout: 5_000 }).toBe(1);
    expect(sms.received[0]?.to).toBe("+442079460958");
    const code = /\b(\d{6})\b/.exec(sms.received[0]!.message)?.[1];
    await client.validateVerification({ verificationId: verification!.verificationId, code: code! });
  });
});
