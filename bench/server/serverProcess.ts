import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { smsSink } from "./smsSink.js";
import { abuseControlsOn, guessBudgetsRaised } from "./abuseControls.js";
import { randomBytes } from "node:crypto";
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import * as http from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { setTimeout as sleep } from "node:timers/promises";
import { performance } from "node:perf_hooks";
import pg from "pg";
import type { BenchAuth } from "../clients/token.js";
import { dropRealStores, newRealStores, redisHostPort, type Backend, type OtherRedis, type RealStores } from "./backends.js";
import { pinnedCommand } from "./cpuPinning.js";
import { freePort } from "./freePort.js";
import { GcTrace } from "./gcTrace.js";
import { commandName, cpuSeconds, hasConnectionToPort, processTree, ProcessMonitor } from "./procStats.js";

export interface ServerOptions {
  readonly backend: Backend;
  /** Serving processes; the embedded backend always runs one. */
  readonly workers: number;
  readonly auth: BenchAuth;
  /** Where `node dist/main.js` runs: the repository root. */
  readonly cwd: string;
  /** Label for the bench schema and key prefix. */
  readonly label: string;
  /** Extra node flags before the entry point (e.g. --cpu-prof for a profile of the run). */
  readonly nodeArgs?: readonly string[];
  /** CPUs to run on (`taskset -c <list> node ...`); null or absent: whatever the bench may use. */
  readonly cpus?: string | null;
  /**
   * Another server's Postgres schema and Redis prefix, to run a second instance of one deployment
   * (real backend only). That server's stop() removes them; this one's leaves them be.
   */
  readonly sharedStores?: RealStores;
  /** ENCRYPTION_KEYS; default a fresh key. A second instance passes the first one's. */
  readonly encryptionKeys?: string;
  /** Another Redis than REDIS_URL for a deployment of its own (a Cluster); instances sharing stores share it. */
  readonly redis?: OtherRedis;
  /** Environment on top of the bench's own settings (e.g. the OTEL_* variables of the tracing part). */
  readonly env?: Readonly<Record<string, string>>;
}

export interface ServerLogSummary {
  readonly warnings: number;
  readonly errors: number;
  /** The last few warning and error lines, to say what went wrong. */
  readonly lastProblems: readonly string[];
}

/** What a measured run needs of the server it loads: the onetime server, or the raw connect-node one. */
export interface MeasuredServer {
  readonly pid: number;
  /** "none": the raw connect-node server, which stores nothing. */
  readonly backend: Backend | "none";
  readonly workers: number;
  /** The CPU list the server was started on (taskset), or null when it was not pinned. */
  readonly cpus: string | null;
  /** Starts sampling the server's processes (RSS now, CPU between markStart and markEnd). */
  monitor(): ProcessMonitor;
  /** Outbox messages not yet delivered (pending or being sent); undefined where there is no outbox to read (embedded: the database is inside the server; the raw server). */
  outboxBacklog(): Promise<number | undefined>;
  /** Waits (at most `timeoutMs`) until the server's processes use under 10% of a core over 500 ms: deferred work such as the outbox relay is done. Returns the seconds waited. */
  settle(timeoutMs?: number): Promise<number>;
  /** Set when the server exited before stop() (crashed, or killed from outside): says how. */
  exitedEarly(): string | undefined;
  /** Its processes' collections, when it was started with node's --trace-gc; undefined otherwise. */
  readonly gcTrace: GcTrace | undefined;
}

export interface RunningServer extends MeasuredServer {
  readonly url: string;
  readonly backend: Backend;
  /** Its Postgres schema and Redis prefix (real backend), for a second instance to share. */
  readonly stores: RealStores | undefined;
  /** Its ENCRYPTION_KEYS, which a second instance must share too. */
  readonly encryptionKeys: string;
  /** Warnings and errors the server logged so far. */
  log(): ServerLogSummary;
  /** SIGTERM, wait for the drain, then remove the bench schema and keys. */
  stop(): Promise<{ exitCode: number | null; log: ServerLogSummary }>;
}

const startTimeoutMs = 90_000;

/**
 * Starts the server under test as the real thing, `node dist/main.js` built as `npm start` builds it (behind
 * `taskset -c <cpus>` when pinned: taskset execs node, so the pid is the server's), configured
 * only through its environment: a free port, LOG_LEVEL=warn (no per-RPC log line), a fresh bench
 * schema and Redis prefix (real) or in-memory PGlite (embedded), and send limits raised so that
 * the bench measures the work, not the refusals. The console channel prints every message to
 * stderr, which goes to a temporary file, never the terminal.
 *
 * Readiness: at LOG_LEVEL=warn the info-level "onetime is serving" line is not printed, so the
 * bench waits for what that line stands for: every worker process exists and holds its Redis
 * connection (opened after migrations, just before listening), and Health/Check answers SERVING
 * on several fresh connections (the cluster hands connections out round-robin).
 */
export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const workers = options.backend === "embedded" ? 1 : options.workers;
  const port = await freePort();
  const stores = options.backend === "real" ? (options.sharedStores ?? newRealStores(options.label, options.redis)) : undefined;
  const ownsStores = options.sharedStores === undefined;
  const encryptionKeys = options.encryptionKeys ?? `bench:${randomBytes(32).toString("base64")}`;
  const logDir = mkdtempSync(join(tmpdir(), "onetime-bench-"));
  const stderrFile = join(logDir, "stderr.log");
  const stderrFd = openSync(stderrFile, "w");
  const sms = await smsSink();
  const cpus = options.cpus ?? null;
  // Built and flagged as `npm start` does (see the production notes in docs/operations.md).
  execFileSync(process.execPath, ["scripts/build.mjs", "--if-stale"], { cwd: options.cwd, stdio: "inherit" });
  const started = pinnedCommand(cpus, process.execPath, ["--max-semi-space-size=16", "--enable-source-maps", ...(options.nodeArgs ?? []), "dist/main.js"]);
  const child = spawn(started.command, started.args, {
    cwd: options.cwd,
    env: { ...serverEnv(options, workers, port, stores, encryptionKeys), ...sms.env, ...options.env },
    stdio: ["ignore", "pipe", stderrFd],
  });
  closeSync(stderrFd);
  const gcTrace = new GcTrace();
  const logs = watchLog(child, gcTrace);
  let stopping = false;
  let early: string | undefined;
  const exited = new Promise<number | null>((resolve) =>
    child.once("exit", (code, signal) => {
      if (!stopping) early = signal === null ? `exit code ${code}` : `signal ${signal}`;
      resolve(code);
    }),
  );
  const url = `http://127.0.0.1:${port}`;
  let backlogPool: pg.Pool | undefined;

  const cleanUp = async () => {
    rmSync(logDir, { recursive: true, force: true });
    if (stores !== undefined && ownsStores) await dropRealStores(stores);
  };

  try {
    await waitUntilReady(child, url, workers, stores, exited, stderrFile);
  } catch (error) {
    child.kill("SIGKILL");
    await exited;
    await cleanUp();
    throw error;
  }

  return {
    url,
    pid: child.pid!,
    backend: options.backend,
    workers,
    stores,
    encryptionKeys,
    cpus,
    monitor: () => new ProcessMonitor(child.pid!),
    log: () => logs.summary(),
    outboxBacklog: async () => (stores === undefined ? undefined : countBacklog(backlogPool ??= newBacklogPool(stores), stores.schema)),
    settle: (timeoutMs = 30_000) => waitForIdle(child.pid!, timeoutMs),
    exitedEarly: () => early,
    gcTrace: options.nodeArgs?.includes("--trace-gc") === true ? gcTrace : undefined,
    async stop() {
      stopping = true;
      await backlogPool?.end();
      child.kill("SIGTERM");
      const exitCode = await Promise.race([exited, sleep(20_000, "timeout" as const)]);
      if (exitCode === "timeout") {
        child.kill("SIGKILL");
        await exited;
      }
      await cleanUp();
      return { exitCode: exitCode === "timeout" ? null : exitCode, log: logs.summary() };
    },
  };
}

function serverEnv(options: ServerOptions, workers: number, port: number, stores: RealStores | undefined, encryptionKeys: string): NodeJS.ProcessEnv {
  const common: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    NODE_ENV: "development",
    PORT: String(port),
    HOST: "127.0.0.1",
    // The bench reads no metrics, and several instances share the machine: a free port each.
    METRICS_PORT: "0",
    LOG_LEVEL: "warn",
    WORKERS: String(workers),
    AUTH_JWT_SECRET: options.auth.secret,
    AUTH_ISSUER: options.auth.issuer,
    AUTH_AUDIENCE: options.auth.audience,
    ENCRYPTION_KEYS: encryptionKeys,
    // The highest values config accepts (1000 and 10000); every round has a consumer of its own anyway.
    VERIFICATION_SEND_LIMIT: "1000",
    VERIFICATION_RESEND_DELAY_SECONDS: "0",
    VERIFICATION_MAX_RESEND_DELAY_SECONDS: "0",
    VERIFICATION_GUESS_LIMIT: "10000",
    // TokenService: every round has a number of its own, and no number waits for a resend.
    TOKEN_SEND_LIMIT: "1000",
    TOKEN_SEND_WINDOW_SECONDS: "1",
    TOKEN_RESEND_DELAY_SECONDS: "0",
    TOKEN_MAX_RESEND_DELAY_SECONDS: "0",
    // The bench calls from one address: the per-address limit is checked on every call, never reached.
    ACCOUNT_TOKEN_CLIENT_LIMIT: "1000000",
    // Every abuse control checked and charged on every send, never refusing (the defaults would
    // refuse within seconds: 3,000 emails a minute, 20 SMS per prefix an hour, the conversion guard).
    ...abuseControlsOn,
    ...guessBudgetsRaised,
  };
  if (stores === undefined) return { ...common, DATA_DIR: "memory://" };
  return {
    ...common,
    DATABASE_URL: stores.databaseUrl,
    DATABASE_SCHEMA: stores.schema,
    REDIS_URL: stores.redisUrl,
    ...(stores.redisCluster ? { REDIS_CLUSTER: "true" } : {}),
    REDIS_KEY_PREFIX: stores.keyPrefix,
    // Real stores print and accept the development CAPTCHA only by name: email and push go to the
    // console as on the embedded backends (SMS goes to the sink), and dev-captcha-ok passes.
    CONSOLE_CHANNELS: "email,push",
    CAPTCHA_PROVIDER: "development",
  };
}

function newBacklogPool(stores: RealStores): pg.Pool {
  return new pg.Pool({ connectionString: stores.databaseUrl, max: 1 });
}

async function countBacklog(pool: pg.Pool, schema: string): Promise<number> {
  const result = await pool.query<{ count: string }>(
    `select count(*) as count from "${schema}".outbox_messages where status in ('pending', 'sending')`,
  );
  return Number(result.rows[0]?.count ?? 0);
}

/** Polls the CPU time of the server's processes until a 500 ms slice uses under 10% of a core. */
export async function waitForIdle(rootPid: number, timeoutMs: number): Promise<number> {
  const started = performance.now();
  const total = () => [...cpuSeconds(processTree(rootPid)).values()].reduce((sum, seconds) => sum + seconds, 0);
  for (;;) {
    const before = total();
    const sliceStart = performance.now();
    await sleep(500);
    const busy = (total() - before) / ((performance.now() - sliceStart) / 1000);
    if (busy < 0.1 || performance.now() - started > timeoutMs) return Math.round((performance.now() - started) / 100) / 10;
  }
}

/** Counts pino's warnings and errors; V8's --trace-gc lines on the same stdout go to `gcTrace` instead. */
function watchLog(child: ChildProcess, gcTrace: GcTrace): { summary(): ServerLogSummary } {
  let warnings = 0;
  let errors = 0;
  const lastProblems: string[] = [];
  createInterface({ input: child.stdout! }).on("line", (line) => {
    if (gcTrace.take(line, performance.now())) return;
    let level = "";
    try {
      const entry = JSON.parse(line) as { level?: unknown };
      level = typeof entry.level === "string" ? entry.level : "";
    } catch {
      level = "error";
    }
    if (level === "warn") warnings++;
    else if (level === "error" || level === "fatal") errors++;
    else return;
    lastProblems.push(line.slice(0, 500));
    if (lastProblems.length > 5) lastProblems.shift();
  });
  return { summary: () => ({ warnings, errors, lastProblems: [...lastProblems] }) };
}

async function waitUntilReady(
  child: ChildProcess,
  url: string,
  workers: number,
  stores: RealStores | undefined,
  exited: Promise<number | null>,
  stderrFile: string,
): Promise<void> {
  const deadline = Date.now() + startTimeoutMs;
  let gone = false;
  void exited.then(() => (gone = true));
  const fail = (why: string) =>
    new Error(`server did not start (${why}); stderr: ${readFileSync(stderrFile, "utf8").slice(-2000) || "(empty)"}`);

  for (;;) {
    if (gone) throw fail(`exited with ${child.exitCode}`);
    if (Date.now() > deadline) throw fail(`not ready after ${startTimeoutMs / 1000} s`);
    const workersUp = workers === 1 || readyWorkers(child.pid!, stores) >= workers;
    if (workersUp && (await serving(url))) break;
    await sleep(200);
  }
  // Connections go round-robin to listening workers: every probe must find one serving.
  await sleep(workers > 1 ? 300 : 0);
  for (let i = 0; i < 4 * workers; i++) if (!(await serving(url))) throw fail("a fresh connection found it not serving");
}

/** Worker processes (children named node) that hold their Redis connection (real backend; a Cluster client connects to its first node too). */
function readyWorkers(primaryPid: number, stores: RealStores | undefined): number {
  const port = stores === undefined ? undefined : redisHostPort(stores.redisUrl).port;
  return processTree(primaryPid)
    .filter((pid) => pid !== primaryPid && commandName(pid) === "node")
    .filter((pid) => port === undefined || hasConnectionToPort(pid, port)).length;
}

/** Health/Check as Connect JSON over a fresh HTTP/1.1 connection. */
function serving(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    const request = http.request(
      `${url}/grpc.health.v1.Health/Check`,
      { method: "POST", agent: false, headers: { "content-type": "application/json", connection: "close" }, timeout: 2_000 },
      (response) => {
        let body = "";
        response.setEncoding("utf8");
        response.on("data", (chunk: string) => (body += chunk));
        response.on("end", () => resolve(response.statusCode === 200 && body.includes('"SERVING"')));
        response.on("error", () => resolve(false));
      },
    );
    request.on("error", () => resolve(false));
    request.on("timeout", () => request.destroy());
    request.end("{}");
  });
}
