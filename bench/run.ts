import { mkdirSync, writeFileSync } from "node:fs";
import { availableParallelism, cpus, loadavg, totalmem } from "node:os";
import { fileURLToPath } from "node:url";
import { performance } from "node:perf_hooks";
import { parseSettings, usage, type BenchSettings } from "./cli.js";
import { createPool } from "./clients/index.js";
import { newBenchAuth, signServiceToken } from "./clients/token.js";
import type { Protocol } from "./clients/types.js";
import { runGrowth, type GrowthResult } from "./growth.js";
import { growthTables, halfLoadTable, pendingTable, scenarioTable, storesTable, targetsTable } from "./report/format.js";
import { checkTargets } from "./report/targets.js";
import type { BenchResults, ScenarioRow, ServerRecord, Section } from "./report/types.js";
import { runScenario } from "./runScenario.js";
import { pendingScenarios, scenarios } from "./scenarios/index.js";
import type { Scenario, ScenarioName } from "./scenarios/scenario.js";
import { TotpConsumers } from "./scenarios/totpConsumers.js";
import type { Backend } from "./server/backends.js";
import { startServer, type RunningServer } from "./server/serverProcess.js";
import { postgresCeilings, type PostgresCeiling } from "./stores/postgresCeiling.js";
import { redisCeilings, type RedisCeiling } from "./stores/redisBenchmark.js";

/**
 * `npm run bench`: the standard set, in one run so that ratios hold on a noisy machine.
 * Tables go to stdout as each part ends, progress to stderr, everything to bench/results/.
 */

const repoRoot = fileURLToPath(new URL("..", import.meta.url));
const resultsDir = fileURLToPath(new URL("./results/", import.meta.url));
const began = performance.now();
const progress = (line: string) => process.stderr.write(`[bench ${((performance.now() - began) / 1000).toFixed(0).padStart(4)} s] ${line}\n`);
const print = (text: string) => process.stdout.write(`${text}\n`);

const auth = newBenchAuth();
const rows: ScenarioRow[] = [];
const servers: ServerRecord[] = [];
const failures: string[] = [];

async function main(): Promise<number> {
  let settings: BenchSettings | "help";
  try {
    settings = parseSettings(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n\n${usage}\n`);
    return 2;
  }
  if (settings === "help") {
    print(usage);
    return 0;
  }
  const startedAt = new Date();
  const loadAtStart = loadavg().map((value) => Math.round(value * 100) / 100);
  const token = await signServiceToken(auth);
  print(
    `onetime bench: ${cpus().length} cores (${cpus()[0]?.model ?? "?"}), node ${process.version}, load average ${loadAtStart.join(" ")}; ` +
      `${settings.quick ? "quick" : "standard"} set, ${settings.durationMs / 1000} s per run after ${settings.warmupMs / 1000} s warm-up, ${settings.concurrency} clients\n`,
  );

  if (settings.parts.has("matrix")) await part("matrix", () => matrix(settings as BenchSettings, token));
  if (settings.parts.has("cores")) await part("cores", () => cores(settings as BenchSettings, token));
  let stores: BenchResults["stores"] = null;
  if (settings.parts.has("stores")) await part("stores", async () => (stores = await storeCeilings(settings as BenchSettings)));
  let growth: GrowthResult | null = null;
  if (settings.parts.has("growth")) {
    await part("growth", async () => {
      growth = await runGrowth((settings as BenchSettings).growth, progress);
      print(growthTables(growth));
    });
  }

  const pending = pendingScenarios();
  print(pendingTable(pending));
  const targets = checkTargets(rows, growth, servers);
  print(targetsTable(targets));

  const finishedAt = new Date();
  const results: BenchResults = {
    version: 1,
    startedAt: startedAt.toISOString(),
    finishedAt: finishedAt.toISOString(),
    durationSeconds: Math.round((finishedAt.getTime() - startedAt.getTime()) / 1000),
    argv: process.argv.slice(2),
    settings: { ...settings, parts: [...settings.parts] },
    machine: {
      cpus: cpus().length,
      availableParallelism: availableParallelism(),
      model: cpus()[0]?.model,
      totalMemoryGiB: Math.round(totalmem() / 2 ** 30),
      node: process.version,
      platform: process.platform,
      loadAverageAtStart: loadAtStart,
      loadAverageAtEnd: loadavg().map((value) => Math.round(value * 100) / 100),
    },
    rows,
    servers,
    pending,
    stores,
    growth,
    targets,
    notes: [
      "The load generator runs on the same machine as the server: its CPU (bench CPU %) is taken from the same cores.",
      "HTTP/2 protocols multiplex the 32 concurrent calls over 4 connections; Connect JSON uses 32 keep-alive HTTP/1.1 connections.",
      "x bare = this run's req/s over the bare handler's (Health/Check) on the same server and protocol.",
      ...failures.map((failure) => `FAILED: ${failure}`),
    ],
  };
  mkdirSync(resultsDir, { recursive: true });
  const file = `${resultsDir}${startedAt.toISOString().replace(/:/g, "-")}.json`;
  writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
  print(`results: ${file}`);
  if (failures.length > 0) print(`\n${failures.length} part(s) failed:\n${failures.map((failure) => `  ${failure}`).join("\n")}`);
  return failures.length > 0 ? 1 : 0;
}

/** Runs one part; a failure is reported and the other parts still run. */
async function part(name: string, body: () => Promise<unknown>): Promise<void> {
  try {
    await body();
  } catch (error) {
    const message = `${name}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`;
    failures.push(message);
    progress(`FAILED ${message}`);
  }
}

async function withServer<T>(
  settings: BenchSettings,
  backend: Backend,
  workers: number,
  label: string,
  body: (server: RunningServer) => Promise<T>,
): Promise<T> {
  progress(`starting the ${backend} server with WORKERS=${workers}`);
  const started = performance.now();
  const server = await startServer({ backend, workers, auth, cwd: repoRoot, label, nodeArgs: settings.serverNodeArgs });
  const startSeconds = Math.round((performance.now() - started) / 100) / 10;
  progress(`serving at ${server.url} after ${startSeconds} s`);
  try {
    return await body(server);
  } finally {
    const stopped = await server.stop();
    servers.push({ backend, workers: server.workers, startSeconds, exitCode: stopped.exitCode, log: stopped.log });
    if (stopped.log.errors > 0) progress(`the server logged ${stopped.log.errors} errors, e.g. ${stopped.log.lastProblems.at(-1) ?? ""}`);
  }
}

interface Measure {
  readonly section: Section;
  readonly server: RunningServer;
  readonly protocol: Protocol;
  readonly token: string;
  readonly settings: BenchSettings;
  readonly totp: TotpConsumers;
}

/** Runs scenarios on one protocol against one server; ratios are to this server's bare run. */
async function measure(context: Measure, names: readonly ScenarioName[]): Promise<ScenarioRow[]> {
  const { server, protocol, settings } = context;
  const pool = createPool(protocol, server.url, context.token, { http1Connections: settings.concurrency, http2Connections: settings.http2Connections });
  const measured: ScenarioRow[] = [];
  try {
    for (const name of names) {
      const scenario: Scenario = scenarios[name];
      progress(`${server.backend}/${protocol}/w${server.workers}: ${name}`);
      // TOTP pools are sized from the fastest a round could go here: the round trip's rate, or
      // the bare ceiling spread over the round's RPCs, whichever is higher.
      const sameServer = measured.filter((row) => row.scenario === "bare" || row.scenario === "verification-roundtrip");
      const expected = sameServer.length === 0 ? undefined : Math.max(...sameServer.map((row) => row.load.rpcPerSecond / scenario.rpcsPerRound));
      const row = await runScenario({
        section: context.section,
        server,
        pool,
        scenario,
        concurrency: settings.concurrency,
        warmupMs: settings.warmupMs,
        durationMs: settings.durationMs,
        mode: { kind: "closed" },
        expectedRoundsPerSecond: expected,
        totpConsumers: context.totp,
      });
      const bare = name === "bare" ? row : measured.find((earlier) => earlier.scenario === "bare");
      const withRatio: ScenarioRow = bare === undefined || bare.load.rpcPerSecond === 0 ? row : { ...row, ratioToBare: row.load.rpcPerSecond / bare.load.rpcPerSecond };
      measured.push(withRatio);
      rows.push(withRatio);
      progress(
        `  ${row.load.rpcPerSecond} req/s, ${row.load.roundsPerSecond} rounds/s, p99 ${row.load.latencyMs.p99} ms, errors ${row.load.errors}` +
          (row.load.errorSamples.length > 0 ? ` (${row.load.errorSamples[0]})` : ""),
      );
    }
  } finally {
    await pool.close();
  }
  return measured;
}

/** Every backend x protocol x scenario, one worker. */
async function matrix(settings: BenchSettings, token: string): Promise<void> {
  for (const backend of settings.backends) {
    const protocols = settings.combos.filter((combo) => combo.backend === backend).map((combo) => combo.protocol);
    if (protocols.length === 0) continue;
    const measured: ScenarioRow[] = [];
    await withServer(settings, backend, 1, "matrix", async (server) => {
      const totp = new TotpConsumers();
      for (const protocol of protocols) {
        measured.push(...(await measure({ section: "matrix", server, protocol, token, settings, totp }, settings.scenarios)));
      }
    });
    print(scenarioTable(`Matrix: ${backend} backend, WORKERS=1, ${settings.concurrency} concurrent clients, ${settings.durationMs / 1000} s each`, measured));
  }
}

/**
 * One worker against all cores (real backends; the embedded ones always run one), on the issue's
 * reference setting: the verification round trip over Connect JSON/HTTP1.1 with 32 keep-alive
 * clients, each on a fresh server with its own bare ceiling. On each, the same round trip then
 * runs at a fixed rate of half the maximum it just reached, for the p99 at half load.
 */
async function cores(settings: BenchSettings, token: string): Promise<void> {
  const protocol: Protocol = "connect-json-h1";
  if (!settings.backends.includes("real")) {
    progress("cores: skipped (the embedded backends run one worker)");
    return;
  }
  const names: ScenarioName[] = ["bare", "verification-roundtrip"];
  const measured: ScenarioRow[] = [];
  const halfLoad: ScenarioRow[] = [];
  for (const workers of [...new Set([1, availableParallelism()])]) {
    await withServer(settings, "real", workers, "cores", async (server) => {
      const rowsHere = await measure({ section: "cores", server, protocol, token, settings, totp: new TotpConsumers() }, names);
      measured.push(...rowsHere);
      const max = rowsHere.find((row) => row.scenario === "verification-roundtrip")!.load.roundsPerSecond;
      const rate = Math.max(1, Math.round(max / 2));
      progress(`real/${protocol}/w${server.workers}: verification-roundtrip at a fixed ${rate} rounds/s (half of ${max})`);
      const pool = createPool(protocol, server.url, token, { http1Connections: settings.concurrency, http2Connections: settings.http2Connections });
      try {
        const row = await runScenario({
          section: "half-load",
          server,
          pool,
          scenario: scenarios["verification-roundtrip"],
          concurrency: settings.concurrency,
          warmupMs: settings.warmupMs,
          durationMs: settings.durationMs,
          mode: { kind: "fixed-rate", ratePerSecond: rate, maxInFlight: 256 },
          expectedRoundsPerSecond: undefined,
          totpConsumers: new TotpConsumers(),
        });
        const annotated: ScenarioRow = { ...row, notes: { ...row.notes, maxRoundsPerSecond: max } };
        rows.push(annotated);
        halfLoad.push(annotated);
      } finally {
        await pool.close();
      }
    });
  }
  print(scenarioTable(`Cores: 1 worker vs ${availableParallelism()} (real backend, ${protocol}, ${settings.concurrency} keep-alive clients)`, measured));
  print(halfLoadTable(halfLoad));
}

async function storeCeilings(settings: BenchSettings): Promise<{ redis: RedisCeiling[]; postgres: PostgresCeiling[] }> {
  progress(`stores: redis-benchmark, ${settings.redisBenchmarkRequests} requests per test`);
  const redis = await redisCeilings(settings.redisBenchmarkRequests);
  progress(`stores: ${settings.postgresCeilingRows} Postgres outbox inserts, 32 at a time`);
  const postgres = await postgresCeilings(settings.postgresCeilingRows);
  print(storesTable(redis, postgres));
  return { redis, postgres };
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
