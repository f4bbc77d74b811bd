import type { AddressObject } from "mailparser";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Channel, DeliveryOutcome } from "../../../src/channels/channel.js";
import type { EmailMessage } from "../../../src/domain/messages/outboundMessage.js";
import { createSmtpChannel, InvalidSmtpConfiguration, type SmtpChannelOptions } from "../../../src/channels/email/smtpChannel.js";
import {
  selfSignedCertificate,
  startSilentServer,
  startSmtpServer,
  unusedPort,
  type TestCertificate,
  type TestSmtpServer,
} from "./smtpTestServer.js";

const credentials = { user: "mailer", pass: "s3cret:p@ss" };
const userInfo = `${credentials.user}:${encodeURIComponent(credentials.pass)}`;
const secretCode = "493027";
const recipient = "alice@example.org";

const message: EmailMessage = {
  kind: "email",
  to: recipient,
  subject: `Your code is ${secretCode}`,
  text: `Use ${secretCode} to sign in.`,
  html: `<p>Use <b>${secretCode}</b> to sign in.</p>`,
};

/** Timeouts small enough that a stuck test fails fast, large enough for a loaded CI machine. */
const fast = { connectionTimeoutMs: 1_000, greetingTimeoutMs: 1_000, socketTimeoutMs: 2_000 } as const;

const channels: Channel<"email">[] = [];
function channel(options: Partial<SmtpChannelOptions> & Pick<SmtpChannelOptions, "url">): Channel<"email"> {
  const created = createSmtpChannel({ from: "onetime <no-reply@example.com>", ...fast, ...options });
  channels.push(created);
  return created;
}
afterEach(async () => {
  await Promise.all(channels.splice(0).map((created) => created.close()));
});

function send(target: Channel<"email">, signal: AbortSignal = AbortSignal.timeout(5_000)): Promise<DeliveryOutcome> {
  return target.send(message, signal);
}

/** The reason is logged: it may carry codes, never what the message said or who it was for. */
function expectNoContent(outcome: DeliveryOutcome): void {
  expect(outcome.status).not.toBe("accepted");
  if (outcome.status === "accepted") return;
  expect(outcome.reason).not.toContain(secretCode);
  expect(outcome.reason).not.toContain("sign in");
  expect(outcome.reason).not.toContain(recipient);
  expect(outcome.reason).not.toContain(credentials.pass);
}

function addresses(field: AddressObject | AddressObject[] | undefined): string[] {
  return [field ?? []].flat().flatMap((entry) => entry.value.map((mailbox) => mailbox.address ?? ""));
}

describe("SMTP channel over plain SMTP with AUTH", () => {
  let server: TestSmtpServer;
  let url: string;
  beforeAll(async () => {
    server = await startSmtpServer({ credentials });
    url = `smtp://${userInfo}@127.0.0.1:${server.port}`;
  });
  afterAll(async () => server.close());
  afterEach(() => {
    server.refusal = undefined;
    server.received.length = 0;
  });

  it("delivers a multipart text and HTML message with its own Message-ID and Date", async () => {
    const before = Date.now();
    const outcome = await send(channel({ url, replyTo: "support@example.com" }));

    expect(outcome).toEqual({ status: "accepted", providerMessageId: expect.stringMatching(/^<[0-9a-f-]{36}@example\.com>$/) });
    expect(server.received).toHaveLength(1);
    const [received] = server.received;
    expect(received?.user).toBe(credentials.user);
    expect(received?.mailFrom).toBe("no-reply@example.com");
    expect(received?.rcptTo).toEqual([recipient]);
    const mail = received!.mail;
    expect(mail.from?.value).toEqual([{ name: "onetime", address: "no-reply@example.com" }]);
    expect(addresses(mail.to)).toEqual([recipient]);
    expect(addresses(mail.replyTo)).toEqual(["support@example.com"]);
    expect(mail.subject).toBe(message.subject);
    expect(mail.text?.trim()).toBe(message.text);
    expect(mail.html).toBe(message.html);
    expect(mail.headers.get("content-type")).toMatchObject({ value: "multipart/alternative" });
    expect(mail.messageId).toBe(outcome.status === "accepted" ? outcome.providerMessageId : undefined);
    expect(mail.date?.getTime()).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000);
    expect(mail.headers.get("auto-submitted")).toBe("auto-generated");
  });

  it("logs in with the user and password from the URL, percent-decoded", async () => {
    server.logins.length = 0;
    expect((await send(channel({ url }))).status).toBe("accepted");
    expect(server.logins).toEqual([`PLAIN ${credentials.user}`]);
  });

  it("reports a refused login as failed, not rejected: the message is not at fault", async () => {
    const outcome = await send(channel({ url: `smtp://${credentials.user}:wrong@127.0.0.1:${server.port}` }));
    expect(outcome).toEqual({ status: "failed", reason: expect.stringMatching(/^AUTH PLAIN refused: 535\b/) });
    expectNoContent(outcome);
    expect(server.received).toHaveLength(0);
  });

  it("reuses one pooled connection for consecutive sends", async () => {
    const pooled = channel({ url });
    const opened = server.connections.opened;
    for (let i = 0; i < 3; i++) expect((await send(pooled)).status).toBe("accepted");
    expect(server.connections.opened - opened).toBe(1);
    await pooled.close();
    await expect.poll(() => server.connections.open).toBe(0);
  });

  it("opens a connection per send without the pool", async () => {
    const unpooled = channel({ url, pool: false });
    const opened = server.connections.opened;
    for (let i = 0; i < 2; i++) expect((await send(unpooled)).status).toBe("accepted");
    expect(server.connections.opened - opened).toBe(2);
    await expect.poll(() => server.connections.open).toBe(0);
  });

  it.each([
    { at: "RCPT TO", code: 451 },
    { at: "RCPT TO", code: 450 },
    { at: "MAIL FROM", code: 421 },
    { at: "DATA", code: 452 },
  ] as const)("reports $code at $at as failed, and a retry goes through once the server accepts", async ({ at, code }) => {
    const greylisted = channel({ url });
    server.refusal = { at, code, text: `Greylisted ${secretCode} for ${recipient}` };
    const outcome = await send(greylisted);
    expect(outcome).toEqual({ status: "failed", reason: expect.stringContaining(String(code)) });
    expect(outcome.status === "failed" && outcome.reason).toMatch(new RegExp(`^${at} refused: ${code} 4\\.\\d+\\.\\d+ [a-z ]+$`));
    expectNoContent(outcome);
    expect(server.received).toHaveLength(0);

    server.refusal = undefined;
    expect((await send(greylisted)).status).toBe("accepted");
    expect(server.received).toHaveLength(1);
  });

  it.each([
    { at: "RCPT TO", code: 550, text: "mailbox unavailable" },
    { at: "RCPT TO", code: 553, text: "mailbox name not allowed" },
    { at: "MAIL FROM", code: 550, text: "mailbox unavailable" },
    { at: "DATA", code: 554, text: "transaction failed" },
  ] as const)("reports $code at $at as rejected", async ({ at, code, text }) => {
    server.refusal = { at, code, text: `No such user ${recipient}, message ${secretCode}` };
    const outcome = await send(channel({ url }));
    expect(outcome).toEqual({
      status: "rejected",
      reason: expect.stringMatching(new RegExp(`^${at} refused: ${code} 5\\.\\d+\\.\\d+ ${text}$`)),
    });
    expectNoContent(outcome);
  });

  it("keeps a pooled connection usable after a rejected message", async () => {
    const pooled = channel({ url, maxConnections: 1 });
    expect((await send(pooled)).status).toBe("accepted");
    const opened = server.connections.opened;
    server.refusal = { at: "RCPT TO", code: 550 };
    expect((await send(pooled)).status).toBe("rejected");
    server.refusal = undefined;
    expect((await send(pooled)).status).toBe("accepted");
    expect(server.connections.opened).toBe(opened);
  });

  it("refuses an invalid recipient without contacting the server", async () => {
    const opened = server.connections.opened;
    const outcome = await channel({ url }).send({ ...message, to: "alice@example.org\r\nBcc: eve@example.net" }, AbortSignal.timeout(1_000));
    expect(outcome).toEqual({ status: "rejected", reason: "invalid recipient address" });
    expect(server.connections.opened).toBe(opened);
  });

  it("keeps a line break in the subject from adding a header or a recipient", async () => {
    const injected = { ...message, subject: "Your code\r\nBcc: eve@example.net" };
    expect((await channel({ url }).send(injected, AbortSignal.timeout(5_000))).status).toBe("accepted");
    const [received] = server.received;
    expect(received?.rcptTo).toEqual([recipient]);
    expect(received?.mail.bcc).toBeUndefined();
    expect(received?.mail.headers.has("bcc")).toBe(false);
  });

  it("fails with requireTls when the server offers no STARTTLS, before sending the password", async () => {
    server.logins.length = 0;
    const outcome = await send(channel({ url, requireTls: true }));
    expect(outcome).toEqual({ status: "failed", reason: expect.stringMatching(/^STARTTLS refused: 5\d\d\b/) });
    expectNoContent(outcome);
    expect(server.logins).toEqual([]);
    expect(server.received).toHaveLength(0);
  });

  it("answers failed after close and closes the pooled connection", async () => {
    const closing = channel({ url });
    expect((await send(closing)).status).toBe("accepted");
    await closing.close();
    await expect.poll(() => server.connections.open).toBe(0);
    expect(await send(closing)).toEqual({ status: "failed", reason: "channel closed" });
  });
});

describe("SMTP channel with TLS", () => {
  let certificate: TestCertificate;
  let starttls: TestSmtpServer;
  let implicit: TestSmtpServer;
  beforeAll(async () => {
    certificate = await selfSignedCertificate();
    [starttls, implicit] = await Promise.all([
      startSmtpServer({ credentials, certificate }),
      startSmtpServer({ credentials, certificate, implicitTls: true }),
    ]);
  });
  afterAll(async () => Promise.all([starttls.close(), implicit.close()]));

  it("upgrades with STARTTLS when the server offers it, verifying the certificate", async () => {
    const outcome = await send(channel({ url: `smtp://${userInfo}@127.0.0.1:${starttls.port}`, tls: { ca: certificate.cert } }));
    expect(outcome.status).toBe("accepted");
    expect(starttls.received.at(-1)).toMatchObject({ secure: true, user: credentials.user });
  });

  it("upgrades under requireTls", async () => {
    const outcome = await send(
      channel({ url: `smtp://${userInfo}@127.0.0.1:${starttls.port}`, requireTls: true, tls: { ca: certificate.cert } }),
    );
    expect(outcome.status).toBe("accepted");
    expect(starttls.received.at(-1)?.secure).toBe(true);
  });

  it("fails when the certificate is not trusted, without logging in", async () => {
    starttls.logins.length = 0;
    const outcome = await send(channel({ url: `smtp://${userInfo}@127.0.0.1:${starttls.port}` }));
    expect(outcome).toEqual({ status: "failed", reason: "smtp error ESOCKET DEPTH_ZERO_SELF_SIGNED_CERT" });
    expectNoContent(outcome);
    expect(starttls.logins).toEqual([]);
  });

  it("speaks TLS from the first byte on smtps://", async () => {
    const outcome = await send(channel({ url: `smtps://${userInfo}@127.0.0.1:${implicit.port}`, tls: { ca: certificate.cert } }));
    expect(outcome.status).toBe("accepted");
    expect(implicit.received.at(-1)).toMatchObject({ secure: true, user: credentials.user });
  });
});

describe("SMTP channel when the server does not answer", () => {
  it.each([true, false])("fails within the greeting timeout when the server never greets (pool: %s)", async (pool) => {
    const silent = await startSilentServer();
    try {
      const started = Date.now();
      const outcome = await send(channel({ url: `smtp://127.0.0.1:${silent.port}`, pool, greetingTimeoutMs: 300 }));
      expect(outcome).toEqual({ status: "failed", reason: "timed out (ETIMEDOUT GREETING_TIMEOUT)" });
      // One requeue on a fresh connection for the pool: at most two greeting timeouts.
      expect(Date.now() - started).toBeLessThan(pool ? 1_500 : 1_000);
      await expect.poll(() => silent.sockets.endedByClient).toBe(silent.sockets.accepted);
    } finally {
      await silent.close();
    }
  });

  it.each([true, false])("fails promptly on abort and lets go of the connection (pool: %s)", async (pool) => {
    const silent = await startSilentServer();
    try {
      const controller = new AbortController();
      const started = Date.now();
      const sending = send(channel({ url: `smtp://127.0.0.1:${silent.port}`, pool, greetingTimeoutMs: 5_000 }), controller.signal);
      await expect.poll(() => silent.sockets.accepted).toBe(1);
      controller.abort();
      expect(await sending).toEqual({ status: "failed", reason: "aborted" });
      expect(Date.now() - started).toBeLessThan(1_000);
      await expect.poll(() => silent.sockets.endedByClient, { timeout: 1_500 }).toBe(1);
    } finally {
      await silent.close();
    }
  });

  it("says timed out when the signal is a timeout", async () => {
    const silent = await startSilentServer();
    try {
      const outcome = await send(channel({ url: `smtp://127.0.0.1:${silent.port}`, greetingTimeoutMs: 5_000 }), AbortSignal.timeout(200));
      expect(outcome).toEqual({ status: "failed", reason: "timed out" });
    } finally {
      await silent.close();
    }
  });

  it("does not connect for a signal that is already aborted", async () => {
    const silent = await startSilentServer();
    try {
      const outcome = await send(channel({ url: `smtp://127.0.0.1:${silent.port}` }), AbortSignal.abort());
      expect(outcome).toEqual({ status: "failed", reason: "aborted" });
      expect(silent.sockets.accepted).toBe(0);
    } finally {
      await silent.close();
    }
  });

  it.each([true, false])("fails when the connection is refused (pool: %s)", async (pool) => {
    const outcome = await send(channel({ url: `smtp://${userInfo}@127.0.0.1:${await unusedPort()}`, pool }));
    expect(outcome).toEqual({ status: "failed", reason: "smtp error ESOCKET ECONNREFUSED" });
    expectNoContent(outcome);
  });
});

describe("SMTP channel configuration", () => {
  it.each([
    ["http://mailer:pw@127.0.0.1:25", /smtp:\/\/ or smtps:\/\//],
    ["smtp://mailer:pw@127.0.0.1:25?pool=true", /path, query or fragment/],
    ["smtp://mailer@127.0.0.1:25", /both a user and a password/],
    ["not a url", /not a URL/],
  ])("refuses the URL %s without repeating it", (url, message) => {
    expect(() => createSmtpChannel({ url, from: "no-reply@example.com" })).toThrow(InvalidSmtpConfiguration);
    expect(() => createSmtpChannel({ url, from: "no-reply@example.com" })).toThrow(message);
    expect(() => createSmtpChannel({ url, from: "no-reply@example.com" })).not.toThrow(/pw/);
  });

  it.each(["", "no-reply", "a@example.com, b@example.com", "x <no-reply@example.com>\r\nBcc: eve@example.net", "team: a@example.com;"])(
    "refuses the sender %j",
    (from) => {
      expect(() => createSmtpChannel({ url: "smtp://127.0.0.1:2525", from })).toThrow(InvalidSmtpConfiguration);
    },
  );

  it.each([{ greetingTimeoutMs: 0 }, { socketTimeoutMs: -1 }, { connectionTimeoutMs: 1.5 }, { maxConnections: 0 }])(
    "refuses %j",
    (options) => {
      expect(() => createSmtpChannel({ url: "smtp://127.0.0.1:2525", from: "no-reply@example.com", ...options })).toThrow(
        InvalidSmtpConfiguration,
      );
    },
  );

  it("names itself", () => {
    const created = channel({ url: "smtp://127.0.0.1:2525" });
    expect([created.kind, created.provider]).toEqual(["email", "smtp"]);
  });
});
