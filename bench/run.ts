import { mkdirSync, writeFileSync } from "node:fs";
import { availableParallelism, cpus, loadavg, totalmem } from "node:os";
import { fileURLToPath } from "node:url";
import { performance } from "node:perf_hooks";
import { parseSettings, usage, type BenchSettings } from "./cli.js";
import { createPool } from "./clients/index.js";
import { newBenchAuth, signServiceToken, signUserToken } from "./clients/token.js";
import type { Protocol } from "./clients/types.js";
import { runGrowth, type GrowthResult } from "./growth.js";
import { runInstances, type InstancesRun } from "./instances.js";
import type { PartContext, ServerStartOptions } from "./partContext.js";
import { growthTables, halfLoadTable, scenarioTable, storesTable, targetsTable } from "./report/format.js";
import { checkTargets } from "./report/targets.js";
import { gcTable } from "./report/gcTable.js";
import { rawConnectTable } from "./report/rawConnectTable.js";
import { pairWithRawConnect, type RawConnectRun } from "./rawConnect.js";
import type { BenchResults, ScenarioRow, ServerRecord, Section } from "./report/types.js";
import { runScenario } from "./runScenario.js";
import { scenarios } from "./scenarios/index.js";
import type { Scenario, ScenarioName } from "./scenarios/scenario.js";
import { TotpConsumers } from "./scenarios/totpConsumers.js";
import type { Backend } from "./server/backends.js";
import { pinBench, planCpuPinning, unpinBench, type CpuPinning } from "./server/cpuPinning.js";
import { startRawConnectServer } from "./server/rawServerProcess.js";
import { startServer, type RunningServer } from "./server/serverProcess.js";
import { postgresCeilings, type PostgresCeiling } from "./stores/postgresCeiling.js";
import { redisCeilings, type RedisCeiling } from "./stores/redisBenchmark.js";
import { runRules, type RulesRun } from "./rules.js";
import { runTracing, type TracingRun } from "./tracing.js";

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
/** Read before anything is pinned: availableParallelism() follows the bench's own affinity. */
const machineCores = availableParallelism();
/** Decided in main() from the settings; until then nothing is pinned. */
let pinning: CpuPinning = { enabled: false, allowedCpus: null, serverCpus: null, benchCpus: null, description: "unpinned (not planned yet)" };
const rows: ScenarioRow[] = [];
const servers: ServerRecord[] = [];
const failures: string[] = [];
/** The matrix's bare runs paired with raw connect-node's (issue 22). */
const rawConnect: RawConnectRun[] = [];
/** The signed-in account of the account token scenarios (consume, attach). */
let userToken = "";

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
  userToken = await signUserToken(auth);
  pinning = planCpuPinning(settings.pinCpus);
  print(
    `onetime bench: ${cpus().length} cores (${cpus()[0]?.model ?? "?"}), node ${process.version}, load average ${loadAtStart.join(" ")}\n` +
      `  set:         ${settings.quick ? "quick" : "standard"}, ${settings.concurrency} clients\n` +
      `  each run:    ${settings.warmupMs / 1000} s warm-up (not measured), then ${settings.durationMs / 1000} s measured\n` +
      `  CPU pinning: ${settings.parts.has("instances") ? "none: the instances part runs every server and the bench unpinned" : pinning.description}\n`,
  );

  if (settings.parts.has("matrix")) await part("matrix", () => matrix(settings as BenchSettings, token));
  if (settings.parts.has("cores")) await part("cores", () => cores(settings as BenchSettings, token));
  const context = partContext(settings, token);
  let instances: InstancesRun[] = [];
  if (settings.parts.has("instances")) await part("instances", async () => (instances = await runInstances(context)));
  let tracing: TracingRun[] = [];
  if (settings.parts.has("tracing")) await part("tracing", async () => (tracing = await runTracing(context)));
  let rules: RulesRun[] = [];
  if (settings.parts.has("rules")) await part("rules", async () => (rules = await runRules(context)));
  let stores: BenchResults["stores"] = null;
  if (settings.parts.has("stores")) await part("stores", async () => (stores = await storeCeilings(settings as BenchSettings)));
  let growth: GrowthResult | null = null;
  if (settings.parts.has("growth")) {
    await part("growth", async () => {
      growth = await runGrowth((settings as BenchSettings).growth, progress);
      print(growthTables(growth));
    });
  }

  const targets = checkTargets(rows, growth, servers, instances, rules, rawConnect);
  print(targetsTable(targets));

  const finishedAt = new Date();
  const results: BenchResults = {
    version: 1,
    startedAt: startedAt.toISOString(),
    finishedAt: finishedAt.toISOString(),
    durationSeconds: Math.round((finishedAt.getTime() - startedAt.getTime()) / 1000),
    argv: process.argv.slice(2),
    settings: { ...settings, parts: [...settings.parts], warmupSeconds: settings.warmupMs / 1000, cpuPinning: pinning },
    machine: {
      cpus: cpus().length,
      availableParallelism: machineCores,
      model: cpus()[0]?.model,
      totalMemoryGiB: Math.round(totalmem() / 2 ** 30),
      node: process.version,
      platform: process.platform,
      loadAverageAtStart: loadAtStart,
      loadAverageAtEnd: loadavg().map((value) => Math.round(value * 100) / 100),
    },
    rows,
    servers,
    stores,
    growth,
    instances,
    tracing,
    rules,
    rawConnect,
    targets,
    notes: [
      "The load generator runs on the same machine as the server: its CPU (bench CPU %) is taken from the same cores.",
      `CPU pinning: ${pinning.description}.`,
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

function partContext(settings: BenchSettings, token: string): PartContext {
  return {
    settings,
    progress,
    print,
    rows,
    pool: (protocol, url) => createPool(protocol, url, token, { http1Connections: settings.concurrency, http2Connections: settings.http2Connections, userToken }),
    withServer: (backend, workers, label, body, options) => withServer(settings, backend, workers, label, body, options),
  };
}

/** Runs one part; a failure is reported and the other parts still run. With --trace-gc, the GC of its windows follows its tables. */
async function part(name: string, body: () => Promise<unknown>): Promise<void> {
  const rowsBefore = rows.length;
  try {
    await body();
  } catch (error) {
    const message = `${name}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`;
    failures.push(message);
    progress(`FAILED ${message}`);
  }
  const gc = gcTable(rows.slice(rowsBefore));
  if (gc !== "") print(gc);
}

async function withServer<T>(
  settings: BenchSettings,
  backend: Backend,
  workers: number,
  label: string,
  body: (server: RunningServer) => Promise<T>,
  options: ServerStartOptions = {},
): Promise<T> {
  // One serving process: it gets a core of its own and the bench another. More: neither is pinned
  // (the bench gives back every CPU first, since a child inherits its parent's affinity).
  const pinned = pinning.enabled && options.pin !== false && (backend === "embedded" || workers === 1);
  unpinBench(pinning);
  const cpuList = pinned ? pinning.serverCpus : null;
  const shared = options.sameDeploymentAs;
  progress(
    `starting the ${backend} server with WORKERS=${workers}${shared === undefined ? "" : ` (another instance of ${shared.url}'s deployment)`}` +
      `${cpuList === null ? "" : ` on CPU ${cpuList} (the bench on CPU ${pinning.benchCpus})`}`,
  );
  const started = performance.now();
  const server = await startServer({
    backend,
    workers,
    auth,
    cwd: repoRoot,
    label,
    nodeArgs: settings.serverNodeArgs,
    cpus: cpuList,
    ...(options.env === undefined ? {} : { env: options.env }),
    ...(options.redis === undefined ? {} : { redis: options.redis }),
    ...(shared?.stores === undefined ? {} : { sharedStores: shared.stores, encryptionKeys: shared.encryptionKeys }),
  });
  const startSeconds = Math.round((performance.now() - started) / 100) / 10;
  progress(`serving at ${server.url} after ${startSeconds} s`);
  try {
    if (pinned) pinBench(pinning);
    return await body(server);
  } finally {
    unpinBench(pinning);
    const stopped = await server.stop();
    const early = server.exitedEarly();
    servers.push({ backend, workers: server.workers, cpus: server.cpus, startSeconds, exitCode: stopped.exitCode, ...(early === undefined ? {} : { exitedEarly: early }), log: stopped.log });
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
  /** Called with each row as soon as it is measured (the pool stays open meanwhile). */
  readonly afterRow?: (row: ScenarioRow) => Promise<void>;
}

/**
 * Runs scenarios on one protocol against one server; ratios are to this server's bare run. In the
 * matrix, where issue 22's targets read those ratios, bare runs again after the last scenario and
 * the ceiling is the mean of its two runs: the machine's speed drifts over the minutes between
 * them (one bare alone let validate-only read 0.61 and 1.02 on the same code), and each bare row's
 * own ratio to that mean shows by how much. The second bare row comes last, marked in its notes
 * (`bareRun: "again"`).
 */
async function measure(context: Measure, names: readonly ScenarioName[]): Promise<ScenarioRow[]> {
  const { server, protocol, settings } = context;
  const pool = createPool(protocol, server.url, context.token, { http1Connections: settings.concurrency, http2Connections: settings.http2Connections, userToken });
  const measured: ScenarioRow[] = [];
  const run = (scenario: Scenario, expected: number | undefined) =>
    runScenario({
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
  const report = (row: ScenarioRow) =>
    progress(
      `  ${row.load.rpcPerSecond} req/s, ${row.load.roundsPerSecond} rounds/s, p99 ${row.load.latencyMs.p99} ms, errors ${row.load.errors}` +
        (row.load.errorSamples.length > 0 ? ` (${row.load.errorSamples[0]})` : ""),
    );
  let bareAgain: ScenarioRow | undefined;
  let finished: ScenarioRow[] = [];
  try {
    for (const name of names) {
      const scenario: Scenario = scenarios[name];
      progress(`${server.backend}/${protocol}/w${server.workers}: ${name}`);
      const row = await run(scenario, expectedRoundsPerSecond(measured, scenario));
      measured.push(row);
      report(row);
      await context.afterRow?.(row);
    }
    if (context.section === "matrix" && names[0] === "bare" && names.length > 1) {
      progress(`${server.backend}/${protocol}/w${server.workers}: bare, again (the ceiling is the mean of both bare runs)`);
      const again = await run(scenarios.bare, undefined);
      bareAgain = { ...again, notes: { ...again.notes, bareRun: "again" } };
      report(bareAgain);
    }
  } finally {
    await pool.close();
    // Kept in the results when a later scenario fails too, against the one bare run there was.
    const bareRates = [measured.find((row) => row.scenario === "bare"), bareAgain].flatMap((row) => (row === undefined ? [] : [row.load.rpcPerSecond]));
    const ceiling = bareRates.length === 0 ? 0 : bareRates.reduce((sum, rate) => sum + rate, 0) / bareRates.length;
    const withRatio = (row: ScenarioRow): ScenarioRow => (ceiling === 0 ? row : { ...row, ratioToBare: row.load.rpcPerSecond / ceiling });
    finished = [...measured, ...(bareAgain === undefined ? [] : [bareAgain])].map(withRatio);
    rows.push(...finished);
  }
  return finished;
}

/**
 * TOTP validation has measured up to 1.7x the email round trip's rounds/s on the same server and
 * protocol (it writes no outbox message); twice that, plus the scenario's own head room, bounds it.
 */
const totpOverRoundTrip = 2;

/**
 * What sizes TOTP pools: the fastest a round could go here. The bare ceiling spread over the
 * round's RPCs bounds it, but loosely once bare is cheap, and every consumer enrolled costs two
 * RPCs before the run; so twice the round trip's rate on this server and protocol, when
 * measured, caps it.
 */
function expectedRoundsPerSecond(measuredHere: readonly ScenarioRow[], scenario: Scenario): number | undefined {
  const bare = measuredHere.find((row) => row.scenario === "bare");
  const roundTrip = measuredHere.find((row) => row.scenario === "verification-roundtrip");
  const bounds = [
    ...(bare === undefined ? [] : [bare.load.rpcPerSecond / scenario.rpcsPerRound]),
    ...(roundTrip === undefined ? [] : [roundTrip.load.roundsPerSecond * totpOverRoundTrip]),
  ];
  return bounds.length === 0 ? undefined : Math.min(...bounds);
}

/** The cores part's reference setting: the verification round trip over Connect JSON/HTTP1.1 on the real backend. */
const coresProtocol: Protocol = "connect-json-h1";
const coresNames: readonly ScenarioName[] = ["bare", "verification-roundtrip"];

/** The cores part's one-worker runs, when the matrix already made them on its real server. */
interface CoresRuns {
  readonly measured: readonly ScenarioRow[];
  readonly halfLoad: ScenarioRow;
}
let oneWorkerFromMatrix: CoresRuns | undefined;

/**
 * Every backend x protocol x scenario, one worker. When the cores part runs too, the real
 * backend's Connect JSON runs are also its one-worker reference (the same server, scenario,
 * protocol and clients: measuring them twice only cost time), so the half-load run follows them
 * on this server. With the raw part, each bare run on the first backend is followed by the same
 * run against raw connect-node on the same core (rawConnect.ts).
 */
async function matrix(settings: BenchSettings, token: string): Promise<void> {
  // Raw connect-node follows the bare runs of the first backend the matrix runs (bare touches no storage).
  const rawBackend = settings.parts.has("raw") ? settings.backends.find((backend) => settings.combos.some((combo) => combo.backend === backend)) : undefined;
  for (const backend of settings.backends) {
    const protocols = settings.combos.filter((combo) => combo.backend === backend).map((combo) => combo.protocol);
    if (protocols.length === 0) continue;
    const measured: ScenarioRow[] = [];
    const paired: RawConnectRun[] = [];
    await withServer(settings, backend, 1, "matrix", async (server) => {
      const totp = new TotpConsumers();
      // Started now, on the onetime server's core: each idles while the other is loaded.
      const raw = backend === rawBackend ? await startRawConnectServer({ cwd: repoRoot, nodeArgs: settings.serverNodeArgs, cpus: server.cpus }) : undefined;
      if (raw !== undefined) progress(`raw connect-node server (pid ${raw.pid}) at ${raw.urlFor("grpc")} (HTTP/2) and ${raw.urlFor("connect-json-h1")} (HTTP/1.1)${raw.cpus === null ? "" : ` on CPU ${raw.cpus}`}`);
      const context = partContext(settings, token);
      const afterRow = raw === undefined ? undefined : async (row: ScenarioRow) => {
        if (row.scenario !== "bare") return;
        const run = await pairWithRawConnect(context, raw, server, row);
        paired.push(run);
        rawConnect.push(run);
      };
      try {
        for (const protocol of protocols) {
          const rowsHere = await measure({ section: "matrix", server, protocol, token, settings, totp, ...(afterRow === undefined ? {} : { afterRow }) }, settings.scenarios);
          measured.push(...rowsHere);
          const reference = rowsHere.filter((row) => coresNames.includes(row.scenario) && row.notes["bareRun"] !== "again");
          if (settings.parts.has("cores") && backend === "real" && protocol === coresProtocol && reference.length === coresNames.length) {
            oneWorkerFromMatrix = { measured: reference, halfLoad: await halfLoadRun(settings, server, token, reference) };
          }
        }
      } finally {
        const stopped = await raw?.stop();
        if (stopped !== undefined && stopped.exitCode !== 0) progress(`the raw connect-node server exited with ${stopped.exitCode}`);
      }
    });
    print(scenarioTable(`Matrix: ${backend} backend, WORKERS=1, ${settings.concurrency} concurrent clients, ${settings.durationMs / 1000} s each`, measured));
    if (paired.length > 0) print(rawConnectTable(paired));
  }
}

/**
 * One worker against all cores (real backends; the embedded ones always run one), on the issue's
 * reference setting: the verification round trip over Connect JSON/HTTP1.1 with 32 keep-alive
 * clients, each with its own bare ceiling; the one-worker runs are the matrix's when it ran them,
 * otherwise a fresh server's. On each server, the same round trip then runs at a fixed rate of
 * half the maximum it reached, for the p99 at half load.
 */
async function cores(settings: BenchSettings, token: string): Promise<void> {
  if (!settings.backends.includes("real")) {
    progress("cores: skipped (the embedded backends run one worker)");
    return;
  }
  const measured: ScenarioRow[] = [];
  const halfLoad: ScenarioRow[] = [];
  let reused = false;
  for (const workers of [...new Set([1, machineCores])]) {
    if (workers === 1 && oneWorkerFromMatrix !== undefined) {
      progress(`cores: WORKERS=1 is the matrix's real/${coresProtocol} runs (same server, scenarios and clients), not measured again`);
      measured.push(...oneWorkerFromMatrix.measured);
      halfLoad.push(oneWorkerFromMatrix.halfLoad);
      reused = true;
      continue;
    }
    await withServer(settings, "real", workers, "cores", async (server) => {
      const rowsHere = await measure({ section: "cores", server, protocol: coresProtocol, token, settings, totp: new TotpConsumers() }, coresNames);
      measured.push(...rowsHere);
      halfLoad.push(await halfLoadRun(settings, server, token, rowsHere));
    });
  }
  const reuseNote = reused ? `The WORKERS=1 lines are the real backend's ${coresProtocol} runs of the matrix above (the same server).\n` : "";
  print(
    scenarioTable(`Cores: 1 worker vs ${machineCores} (real backend, ${coresProtocol}, ${settings.concurrency} keep-alive clients)`, measured) + reuseNote,
  );
  print(halfLoadTable(halfLoad));
}

/** The verification round trip at a fixed rate of half the maximum `measuredHere` shows on this server. */
async function halfLoadRun(settings: BenchSettings, server: RunningServer, token: string, measuredHere: readonly ScenarioRow[]): Promise<ScenarioRow> {
  const max = measuredHere.find((row) => row.scenario === "verification-roundtrip")!.load.roundsPerSecond;
  const rate = Math.max(1, Math.round(max / 2));
  progress(`${server.backend}/${coresProtocol}/w${server.workers}: verification-roundtrip at a fixed ${rate} rounds/s (half of ${max})`);
  const pool = createPool(coresProtocol, server.url, token, { http1Connections: settings.concurrency, http2Connections: settings.http2Connections, userToken });
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
    progress(`  ${row.load.roundsPerSecond} rounds/s, RPC p99 ${row.load.latencyMs.p99} ms, round p99 ${row.load.roundLatencyMs.p99} ms, errors ${row.load.errors}`);
    return annotated;
  } finally {
    await pool.close();
  }
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
