import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { VerificationMethod } from "../../gen/onetime/v1/verification_service_pb.js";
import { startSmtpServer, type TestSmtpServer } from "../channels/email/smtpTestServer.js";
import { startTestServer, type TestServer } from "../support/server.js";
import { startSmsWebhook, type SmsWebhook } from "../support/smsWebhook.js";
import { verificationClient, type VerificationClient } from "../support/verificationClient.js";

describe.each(["real", "cluster"] as const)("verification codes reach people through the channels (%s)", (backend) => {
  let smtp: TestSmtpServer;
  let sms: SmsWebhook;
  let server: TestServer;
  let client: VerificationClient;

  beforeAll(async () => {
    smtp = await startSmtpServer({ credentials: { user: "relay", pass: "pw" } });
    sms = await startSmsWebhook();
    server = await startTestServer(backend, "verification-delivery", {
      SMTP_URL: `smtp://relay:pw@127.0.0.1:${smtp.port}`,
      SMTP_FROM: "Acme <no-reply@acme.example>",
      ...sms.env,
      OUTBOX_POLL_INTERVAL_MS: "50",
    });
    client = await verificationClient(server.url, "connect-json");
  });
  afterAll(async () => {
    await server?.stop();
    await smtp?.close();
    await sms?.close();
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
