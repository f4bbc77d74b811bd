/**
 * WatchAuthToken at scale (issue 11): N concurrent watchers on one worker, each woken by the attach
 * of its token, half of the attaches made on that same instance and half on a second instance of
 * the deployment (same Postgres schema, same Redis prefix). Reports how long after each attach
 * answered its watcher heard ATTACHED, how many Postgres statements on account_tokens were running
 * while the watchers waited (none should be: a waiting watch holds no connection), and the
 * watched server's memory and CPU while it held them.
 *
 *   npx tsx bench/watchers.ts [watchers=1000]
 */
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import pg from "pg";
import { AccountTokenService, AuthTokenState } from "../gen/onetime/v1/account_token_service_pb.js";
import { newBenchAuth, signUserToken } from "./clients/token.js";
import { startServer, type RunningServer } from "./server/serverProcess.js";
import { summarize } from "./stats.js";

const watchers = Number(process.argv[2] ?? 1000);
/** HTTP/2 streams per connection the server allows by default (MAX_CONCURRENT_STREAMS). */
const streamsPerConnection = 100;
const attachBatch = 50;

async function main(): Promise<void> {
  const auth = newBenchAuth();
  const cwd = new URL("..", import.meta.url).pathname;
  const servers: RunningServer[] = [];
  try {
    const watched = await startServer({ backend: "real", workers: 1, auth, cwd, label: "watchers" });
    servers.push(watched);
    const other = await startServer({ backend: "real", workers: 1, auth, cwd, label: "watchers", sharedStores: watched.stores!, encryptionKeys: watched.encryptionKeys });
    servers.push(other);
    const userToken = await signUserToken(auth);
    const creator = createClient(AccountTokenService, createConnectTransport({ baseUrl: watched.url, httpVersion: "1.1" }));
    const attachers = [watched, other].map((server) =>
      createClient(AccountTokenService, createGrpcTransport({ baseUrl: server.url, interceptors: [(next) => (request) => (request.header.set("authorization", `Bearer ${userToken}`), next(request))] })),
    );
    const watchClients = Array.from({ length: Math.ceil(watchers / (streamsPerConnection / 2)) }, () =>
      createClient(AccountTokenService, createGrpcTransport({ baseUrl: watched.url })),
    );

    // The shown token, for the attach, and the device secret, for the watch.
    const tokens: Array<{ authToken: string; deviceSecret: string }> = [];
    for (let i = 0; i < watchers; i += 100) {
      const created = await Promise.all(Array.from({ length: Math.min(100, watchers - i) }, () => creator.createAuthToken({})));
      tokens.push(...created.map(({ authToken, deviceSecret }) => ({ authToken: authToken!.token, deviceSecret })));
    }

    const pending = new Array<number>(watchers).fill(0);
    const heard = new Array<number>(watchers).fill(0);
    const watch = async (deviceSecret: string, i: number) => {
      try {
        for await (const message of watchClients[i % watchClients.length]!.watchAuthToken({ deviceSecret }, { timeoutMs: 600_000 })) {
          if (message.state === AuthTokenState.PENDING) pending[i] = performance.now();
          if (message.state === AuthTokenState.ATTACHED) heard[i] = performance.now();
        }
      } catch (error) {
        if (!(error instanceof ConnectError && error.code === Code.Canceled)) throw error;
      }
    };
    // Opened 100 at a time, as devices arrive rather than all in one instant.
    const ended: Promise<void>[] = [];
    for (let i = 0; i < watchers; i += 100) {
      ended.push(...tokens.slice(i, i + 100).map((token, j) => watch(token.deviceSecret, i + j)));
      while (pending.slice(i, i + 100).some((at) => at === 0)) await new Promise((resolve) => setTimeout(resolve, 10));
    }
    progress(`${watchers} watchers waiting on ${watchClients.length} HTTP/2 connections`);

    // While they wait: what runs in Postgres, and what the watched server costs.
    const monitor = watched.monitor();
    monitor.markStart();
    const db = new pg.Pool({ connectionString: process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test", max: 1 });
    let busyStatements = 0;
    for (let sample = 0; sample < 10; sample++) {
      const { rows } = await db.query<{ count: string }>(
        "select count(*) from pg_stat_activity where state <> 'idle' and query ilike '%account_tokens%' and pid <> pg_backend_pid()",
      );
      busyStatements = Math.max(busyStatements, Number(rows[0]!.count));
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    await db.end();
    monitor.markEnd();
    const idle = monitor.stop();

    const attachedAt = new Array<number>(watchers).fill(0);
    for (let i = 0; i < watchers; i += attachBatch) {
      await Promise.all(
        tokens.slice(i, i + attachBatch).map(async ({ authToken }, j) => {
          const index = i + j;
          await attachers[index % 2]!.attachAuthToken({ authToken });
          attachedAt[index] = performance.now();
        }),
      );
    }
    const deadline = performance.now() + 10_000;
    while (heard.some((at) => at === 0) && performance.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    const missed = heard.filter((at) => at === 0).length;

    const report = (label: string, parity: number) => {
      const waits = tokens.map((_, i) => i).filter((i) => i % 2 === parity && heard[i]! > 0).map((i) => Math.max(0, heard[i]! - attachedAt[i]!));
      const over = waits.filter((wait) => wait > 100).length;
      const { count, p50, p99, max } = summarize(waits);
      return `${label.padEnd(16)} ${String(count).padStart(5)}  ${p50.toFixed(1).padStart(6)}  ${p99.toFixed(1).padStart(6)}  ${max.toFixed(1).padStart(6)}  ${String(over).padStart(8)}`;
    };
    print(
      [
        `== WatchAuthToken: ${watchers} watchers on one worker (real backend)`,
        `while waiting: ${busyStatements} statement(s) on account_tokens running in Postgres (max of 10 samples); watched server ${idle.cpuPercent}% CPU, ${idle.peakRssMb} MB RSS`,
        `attach on        count  p50 ms  p99 ms  max ms  > 100 ms   (from the attach's answer to the watcher's ATTACHED)`,
        report("the same server", 0),
        report("another server", 1),
        `never woken within 10 s: ${missed}`,
      ].join("\n"),
    );
    await Promise.allSettled(ended);
  } finally {
    for (const server of servers.reverse()) await server.stop();
  }
}

function progress(line: string): void {
  process.stderr.write(`[watchers] ${line}\n`);
}

function print(text: string): void {
  process.stdout.write(`${text}\n`);
}

await main();
