import { randomBytes } from "node:crypto";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { EmailMessage } from "../../src/domain/messages/outboundMessage.js";
import { channelRegistry } from "../../src/channels/channelRegistry.js";
import { createSecretBox, type SecretBox } from "../../src/crypto/secretBox.js";
import { createDelivery, type Delivery } from "../../src/delivery/delivery.js";
import { OutboxRelay, type OutboxRelayOptions } from "../../src/delivery/outboxRelay.js";
import type { ClaimedMessage } from "../../src/delivery/outboxStore.js";
import { Sender } from "../../src/delivery/sender.js";
import { createMetrics } from "../../src/observability/metrics.js";
import { inMemoryDataDir, openDatabase, type Database } from "../../src/storage/sql/database.js";
import { sqlOutbox } from "../../src/storage/sql/sqlOutbox.js";
import { dropSchema, testDatabaseUrl, testMigrationContext, uniqueSchema } from "../support/postgres.js";
import { capturingLogger } from "../support/capturingLogger.js";
import { RecordingChannel } from "../support/recordingChannel.js";

const schema = uniqueSchema("outbox");
const backends: Record<string, () => Promise<Database>> = {
  postgres: () => openDatabase({ kind: "postgres", url: testDatabaseUrl(), schema, poolMax: 5 }, testMigrationContext),
  pglite: () => openDatabase({ kind: "pglite", dataDir: inMemoryDataDir, schema: "public" }, testMigrationContext),
};
const fastRetry: OutboxRelayOptions = { retry: { baseDelayMs: 1, maxDelayMs: 5 }, pollIntervalMs: 20, sendTimeoutMs: 2_000 };

function email(code: string): EmailMessage {
  return { kind: "email", to: "ada@example.com", subject: "Your code", text: `code ${code}`, html: `<p>code ${code}</p>` };
}

const soon = () => new Date(Date.now() + 60_000);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

afterAll(async () => {
  await dropSchema(schema);
});

describe.each(Object.keys(backends))("outbox on %s", (backend) => {
  let db: Database;
  let box: SecretBox;
  const { logger, lines: logLines } = capturingLogger();

  function relayWith(channel: RecordingChannel<"email">, options: Partial<OutboxRelayOptions> = {}, database = db) {
    const sender = new Sender(channelRegistry({ email: channel }), logger, createMetrics());
    const outbox = sqlOutbox(database);
    const relay = new OutboxRelay(outbox, box, sender, logger, { ...fastRetry, ...options });
    const delivery: Delivery = createDelivery({ outbox, relay, sender, box, maxAttempts: 3 });
    return { relay, delivery };
  }

  async function row(id: string) {
    return db("outbox_messages").where({ id }).first<{ status: string; payload: string | null; attempts: number; last_error: string | null }>();
  }

  beforeAll(async () => {
    db = await backends[backend]!();
    box = createSecretBox([{ id: "k1", key: randomBytes(32) }]);
  });
  afterAll(async () => {
    await db?.destroy();
  });
  afterEach(async () => {
    await db("outbox_messages").delete();
  });

  it("reports its backlog: how many wait and since when, none once sent", async () => {
    const channel = new RecordingChannel("email");
    const { relay, delivery } = relayWith(channel);
    const outbox = sqlOutbox(db);
    expect(await outbox.backlog()).toEqual({ waiting: 0, oldestQueuedAt: null });
    const id = await delivery.queue(email("111111"), { expiresAt: soon(), template: "verification" });
    await delivery.queue(email("222222"), { expiresAt: soon(), template: "verification" });
    const { created_at: createdAt } = await db("outbox_messages").where({ id }).first<{ created_at: Date }>();
    expect(await outbox.backlog()).toEqual({ waiting: 2, oldestQueuedAt: new Date(createdAt) });
    await relay.runOnce();
    expect(await outbox.backlog()).toEqual({ waiting: 0, oldestQueuedAt: null });
  });

  it("delivers a queued message once, keeping it sealed at rest and scrubbing it after", async () => {
    const channel = new RecordingChannel("email");
    const { relay, delivery } = relayWith(channel);
    const id = await delivery.queue(email("482913"), { expiresAt: soon(), template: "verification" });

    const queued = await row(id);
    expect(queued?.status).toBe("pending");
    expect(queued?.payload).toMatch(/^v1\.k1\./);
    expect(queued?.payload).not.toContain("482913");

    expect(await relay.runOnce()).toBe(1);
    expect(await relay.runOnce()).toBe(0);
    expect(channel.sent).toEqual([email("482913")]);
    expect(await row(id)).toMatchObject({ status: "sent", payload: null, attempts: 1 });
    expect(logLines.join("")).not.toContain("482913");
  });

  it("retries a failed send with backoff, then delivers", async () => {
    const channel = new RecordingChannel("email").answer({ status: "failed", reason: "451 try later" });
    const { relay, delivery } = relayWith(channel);
    const id = await delivery.queue(email("111111"), { expiresAt: soon() });
    await relay.runOnce();
    expect(await row(id)).toMatchObject({ status: "pending", attempts: 1, last_error: "451 try later" });
    await sleep(20);
    await relay.runOnce();
    expect(channel.sent).toHaveLength(1);
    expect(await row(id)).toMatchObject({ status: "sent", attempts: 2, payload: null });
  });

  it("gives up after the attempt limit and scrubs the payload", async () => {
    const channel = new RecordingChannel("email", { status: "failed", reason: "503 unavailable" });
    const { relay, delivery } = relayWith(channel);
    const id = await delivery.queue(email("222222"), { expiresAt: soon() });
    for (let round = 0; round < 5; round++) {
      await relay.runOnce();
      await sleep(15);
    }
    expect(await row(id)).toMatchObject({ status: "dead", attempts: 3, payload: null });
    expect((await row(id))?.last_error).toContain("gave up after 3 attempts");
  });

  it("does not retry a permanent rejection", async () => {
    const channel = new RecordingChannel("email").answer({ status: "rejected", reason: "550 no such mailbox" });
    const { relay, delivery } = relayWith(channel);
    const id = await delivery.queue(email("333333"), { expiresAt: soon() });
    await relay.runOnce();
    expect(await row(id)).toMatchObject({ status: "dead", attempts: 1, payload: null, last_error: "550 no such mailbox" });
  });

  it("never sends an expired message", async () => {
    const channel = new RecordingChannel("email");
    const { relay, delivery } = relayWith(channel);
    const id = await delivery.queue(email("444444"), { expiresAt: new Date(Date.now() + 60_000) });
    // Its time passes by the database's clock, which the relay reads: no waiting.
    await db("outbox_messages").where({ id }).update({ expires_at: db.raw("now() - interval '1 second'") });
    expect(await relay.runOnce()).toBe(0);
    expect(channel.sent).toEqual([]);
    expect(await row(id)).toMatchObject({ status: "expired", payload: null });
  });

  it("stops retrying when the next try would come after expiry", async () => {
    const channel = new RecordingChannel("email").answer({ status: "failed", reason: "429", retryAfterMs: 60_000 });
    const { relay, delivery } = relayWith(channel);
    const id = await delivery.queue(email("555555"), { expiresAt: new Date(Date.now() + 5_000) });
    await relay.runOnce();
    expect(await row(id)).toMatchObject({ status: "expired", payload: null });
  });

  it("commits a message with its caller's transaction, and drops it on rollback", async () => {
    const channel = new RecordingChannel("email");
    const { relay, delivery } = relayWith(channel);
    await db
      .transaction(async (transaction) => {
        await delivery.queue(email("666666"), { expiresAt: soon(), transaction });
        throw new Error("the record that needed it failed");
      })
      .catch(() => undefined);
    await db.transaction(async (transaction) => {
      await delivery.queue(email("777777"), { expiresAt: soon(), transaction });
    });
    await relay.runOnce();
    expect(channel.sent.map((message) => message.text)).toEqual(["code 777777"]);
  });

  it("hands a crashed relay's unfinished batch to another, delivering each message once", async () => {
    // Relay A accepts three messages, then hangs on the rest as if its process had frozen.
    const crashing = new RecordingChannel("email").answer({ status: "accepted" }, { status: "accepted" }, { status: "accepted" });
    for (let i = 0; i < 7; i++) crashing.answer("hang");
    const a = relayWith(crashing, { leaseMs: 150, sendTimeoutMs: 1_000 });
    for (let i = 0; i < 10; i++) await a.delivery.queue(email(`9000${i}`), { expiresAt: soon() });
    const crashed = a.relay.runOnce();

    // Real time: A's lease (150 ms) runs out by the database's clock while A still holds its batch.
    await sleep(250);
    const healthy = new RecordingChannel("email");
    const b = relayWith(healthy);
    expect(await b.relay.runOnce()).toBe(7);
    await crashed; // A wakes up: its late outcomes are fenced off and change nothing.

    const delivered = [...crashing.sent, ...healthy.sent].map((message) => message.text).sort();
    expect(delivered).toEqual(Array.from({ length: 10 }, (_, i) => `code 9000${i}`).sort());
    const statuses = await db("outbox_messages").select("status").groupBy("status").count<{ status: string; count: string }[]>("* as count");
    expect(statuses.map((entry) => [entry.status, Number(entry.count)])).toEqual([["sent", 10]]);
  });

  it("lets two relays drain one outbox without sending anything twice", async () => {
    const second = backend === "postgres" ? await backends.postgres!() : db;
    try {
      const [one, two] = [new RecordingChannel("email"), new RecordingChannel("email")];
      const a = relayWith(one, { batchSize: 7 });
      const b = relayWith(two, { batchSize: 7 }, second);
      for (let i = 0; i < 60; i++) await a.delivery.queue(email(`c${i}`), { expiresAt: soon() });
      const drain = async (relay: OutboxRelay) => {
        while ((await relay.runOnce()) > 0);
      };
      await Promise.all([drain(a.relay), drain(b.relay), drain(a.relay), drain(b.relay)]);
      const texts = [...one.sent, ...two.sent].map((message) => message.text);
      expect(texts).toHaveLength(60);
      expect(new Set(texts).size).toBe(60);
      if (backend === "postgres") expect(one.sent.length * two.sent.length).toBeGreaterThan(0);
    } finally {
      if (second !== db) await second.destroy();
    }
  });

  it("sends synchronously within a deadline when the caller must know the outcome", async () => {
    const channel = new RecordingChannel("email").answer("hang");
    const { delivery } = relayWith(channel);
    const started = performance.now();
    expect(await delivery.sendNow(email("999999"), 100)).toEqual({ status: "failed", reason: "timed out" });
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(await delivery.sendNow(email("999999"), 1_000)).toEqual({ status: "accepted" });
    const [stored] = await db("outbox_messages").count<{ count: string | number }[]>("* as count");
    expect(Number(stored?.count)).toBe(0);
  });

  it("records a batch's outcomes with one statement when its sends end together", async () => {
    const channel = new RecordingChannel("email");
    const { relay, delivery } = relayWith(channel, { batchSize: 20 });
    for (let i = 0; i < 12; i++) await delivery.queue(email(`70${i}`), { expiresAt: soon() });
    const statements: string[] = [];
    const onQuery = (query: { sql: string }) => statements.push(query.sql.trim().split(/\s+/)[0]!.toLowerCase());
    db.on("query", onQuery);
    try {
      expect(await relay.runOnce()).toBe(12);
    } finally {
      db.removeListener("query", onQuery);
    }
    expect(channel.sent).toHaveLength(12);
    // The expiry sweep, and one update for all twelve outcomes (the claim is a `with … update`).
    expect(statements.filter((sql) => sql === "update")).toHaveLength(2);
    const statuses = await db("outbox_messages").select("status").groupBy("status").count<{ status: string; count: string }[]>("* as count");
    expect(statuses.map((entry) => [entry.status, Number(entry.count)])).toEqual([["sent", 12]]);
  });

  it("records mixed outcomes in one statement, each fenced by its own attempt", async () => {
    const { delivery } = relayWith(new RecordingChannel("email"));
    const outbox = sqlOutbox(db);
    for (let i = 0; i < 5; i++) await delivery.queue(email(`60${i}`), { expiresAt: soon() });
    const claimed = await outbox.claim(5, 60_000);
    expect(claimed).toHaveLength(5);
    const [sent, retried, dead, expired, stale] = claimed as [ClaimedMessage, ClaimedMessage, ClaimedMessage, ClaimedMessage, ClaimedMessage];
    const awkward = `550 "mailbox", {unavailable} \\ ünïcødé '; drop table x; --`;
    const recorded = await outbox.record([
      { message: sent, outcome: { status: "sent" } },
      { message: retried, outcome: { status: "retry", reason: "421 try later", delayMs: 30_000 } },
      { message: dead, outcome: { status: "dead", reason: awkward } },
      { message: expired, outcome: { status: "expired", reason: "too late" } },
      // An outcome from an attempt that has since been taken over changes nothing.
      { message: { ...stale, attempt: stale.attempt - 1 }, outcome: { status: "sent" } },
    ]);
    expect([...recorded.recorded].sort()).toEqual([sent.id, retried.id, dead.id, expired.id].sort());
    expect(recorded.takenOver).toEqual(new Set([stale.id]));

    const rows = await db("outbox_messages")
      .select("id", "status", "payload", "last_error", "finished_at", "lease_until", db.raw("extract(epoch from next_attempt_at - now()) as wait_seconds"))
      .then((all: { id: string; status: string; payload: string | null; last_error: string | null; finished_at: Date | null; lease_until: Date | null; wait_seconds: string | number }[]) => new Map(all.map((r) => [r.id, r])));
    expect(rows.get(sent.id)).toMatchObject({ status: "sent", payload: null, last_error: null, lease_until: null });
    expect(rows.get(sent.id)?.finished_at).not.toBeNull();
    expect(rows.get(retried.id)).toMatchObject({ status: "pending", last_error: "421 try later", finished_at: null, lease_until: null });
    expect(rows.get(retried.id)?.payload).not.toBeNull();
    expect(Number(rows.get(retried.id)?.wait_seconds)).toBeGreaterThan(25);
    expect(rows.get(dead.id)).toMatchObject({ status: "dead", payload: null, last_error: awkward });
    expect(rows.get(expired.id)).toMatchObject({ status: "expired", payload: null, last_error: "too late" });
    expect(rows.get(stale.id)).toMatchObject({ status: "sending" });
    expect(rows.get(stale.id)?.payload).not.toBeNull();
    expect(await outbox.record([])).toEqual({ recorded: new Set(), takenOver: new Set() });
  });

  it("sends a message queued while a round is busy right after that round, not at the next poll", async () => {
    // The first send hangs until its deadline, keeping the relay's round busy.
    const channel = new RecordingChannel("email").answer("hang");
    const { relay, delivery } = relayWith(channel, { pollIntervalMs: 60_000, sendTimeoutMs: 300 });
    relay.start();
    try {
      await delivery.queue(email("111000"), { expiresAt: soon() });
      await sleep(100);
      await delivery.queue(email("222000"), { expiresAt: soon() });
      await expect.poll(() => channel.sent.map((message) => message.text), { timeout: 3_000 }).toContain("code 222000");
    } finally {
      await relay.stop();
    }
  });

  it("runs in the background and picks up a message as soon as it is queued", async () => {
    const channel = new RecordingChannel("email");
    const { relay, delivery } = relayWith(channel, { pollIntervalMs: 60_000 });
    relay.start();
    try {
      await delivery.queue(email("888888"), { expiresAt: soon() });
      await expect.poll(() => channel.sent.length, { timeout: 2_000 }).toBe(1);
    } finally {
      await relay.stop();
    }
  });
});
