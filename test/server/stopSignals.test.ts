import { setTimeout as sleep } from "node:timers/promises";
import knexFactory, { type Knex } from "knex";
import { describe, expect, it } from "vitest";
import { VerificationMethod } from "../../gen/onetime/v1/verification_service_pb.js";
import { relayedCopyWindowMs } from "../../src/server/stopSignals.js";
import { npmStart, type StartedProcess } from "../support/npmStart.js";
import { testDatabaseUrl } from "../support/postgres.js";
import { verificationClient } from "../support/verificationClient.js";

/**
 * Runs `npm start` with one TOTP enrolment held up in flight: a transaction locks the table the
 * enrolment writes to, and `release` lets it go on. Cleans up whatever the test leaves.
 */
async function withSlowCall(
  started: StartedProcess,
  test: (slow: { call: Promise<unknown>; release(): Promise<void> }) => Promise<void>,
): Promise<void> {
  const db = knexFactory({ client: "pg", connection: testDatabaseUrl(), pool: { min: 0, max: 2 } });
  let transaction: Knex.Transaction | undefined;
  try {
    const url = await started.serving;
    transaction = await db.transaction();
    await transaction.raw("lock table ??.totp_secrets in access exclusive mode", [started.schema]);
    const client = await verificationClient(url);
    const call = client.initiateVerification({ method: VerificationMethod.TOTP, consumer: "slow-enrolment" });
    // Kept as a value: a test that expects the call to fail reads the error itself.
    const settled = call.then(
      (answer) => answer,
      (error: unknown) => error,
    );
    await expect.poll(() => waitingOnLock(db, started.schema), { timeout: 10_000 }).toBe(1);
    await test({ call: settled, release: async () => void (await transaction!.commit()) });
  } finally {
    if (transaction !== undefined && !transaction.isCompleted()) await transaction.rollback();
    await db.destroy();
    await started.cleanUp();
  }
}

async function waitingOnLock(db: Knex, schema: string): Promise<number> {
  const result = await db.raw<{ rows: { waiting: number }[] }>(
    "select count(*)::int as waiting from pg_locks where not granted and relation = to_regclass(?)",
    [`${schema}.totp_secrets`],
  );
  return result.rows[0]!.waiting;
}

function messages(started: StartedProcess, text: string): number {
  return started.lines.filter((line) => typeof line.msg === "string" && line.msg.startsWith(text)).length;
}

describe.each([
  { mode: "one process", workers: 1 },
  { mode: "two workers", workers: 2 },
])("stop signals sent to the process group of npm start ($mode)", ({ workers }) => {
  it("let a slow call finish through repeated SIGTERMs, then print the stopped line", async () => {
    const started = npmStart(`sigterm_${workers}`, { WORKERS: String(workers) }, workers);
    await withSlowCall(started, async ({ call, release }) => {
      // What systemd does to the group, twice over; npm passes each one on to node as well.
      started.signalGroup("SIGTERM");
      await expect.poll(() => messages(started, "signal received"), { timeout: 10_000 }).toBeGreaterThan(0);
      started.signalGroup("SIGTERM");
      // The first signal's relayed copy is logged as ignored; the second signal's copies are not
      // logged again, so a moment for them to land. Whether they cut the drain short is what the
      // call's answer and the exit status below tell.
      await expect.poll(() => messages(started, "already stopping"), { timeout: 10_000 }).toBeGreaterThan(0);
      await sleep(100);
      expect(started.child.exitCode).toBeNull();

      await release();
      expect(await call).toMatchObject({ totpUri: expect.stringMatching(/^otpauth:/) });
      expect(await started.exited).toBe(0);
      expect(messages(started, "stopped")).toBe(workers);
      expect(messages(started, "already stopping")).toBeGreaterThan(0);
    });
  }, 90_000);
});

describe("a second SIGINT", () => {
  it("stops at once when sent a while after the first, without the stopped line", async () => {
    const started = npmStart("sigint", { WORKERS: "1" });
    await withSlowCall(started, async ({ call }) => {
      // One Ctrl-C reaches node twice (from the terminal and from npm): that alone drains.
      started.signalGroup("SIGINT");
      await expect.poll(() => messages(started, "signal received"), { timeout: 10_000 }).toBeGreaterThan(0);
      // Real time: the server tells a second Ctrl-C from a relayed copy of the first by the
      // process's own clock (relayedCopyWindowMs), which no test clock reaches in a child process.
      await sleep(relayedCopyWindowMs + 200);
      expect(started.child.exitCode).toBeNull();
      started.signalGroup("SIGINT");
      expect(await started.exited).toBe(130);
      expect(await call).toBeInstanceOf(Error);
      expect(messages(started, "stopped")).toBe(0);
      expect(messages(started, "second SIGINT")).toBe(1);
    });
  }, 90_000);
});
