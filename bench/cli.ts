import { mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { allProtocols, type Protocol } from "./clients/types.js";
import type { GrowthOptions } from "./growth.js";
import { allScenarioNames, type ScenarioName } from "./scenarios/scenario.js";
import { allBackends, type Backend } from "./server/backends.js";

export type Part = "matrix" | "cores" | "stores" | "growth" | "instances" | "tracing" | "rules" | "raw";

export interface BenchSettings {
  readonly quick: boolean;
  readonly full: boolean;
  /** Unmeasured load before every measured window: a fresh server needs ~8-10 s of it before V8's JIT settles. */
  readonly warmupMs: number;
  readonly durationMs: number;
  readonly concurrency: number;
  readonly http2Connections: number;
  readonly backends: readonly Backend[];
  readonly protocols: readonly Protocol[];
  /** Protocols of the rules part (abuse controls on against off): grpc and connect-json-h1, one with --quick, or --protocol. */
  readonly rulesProtocols: readonly Protocol[];
  /** Measured windows per mode in the rules part, alternating off/on then on/off (default 2, 1 with --quick). */
  readonly rulesWindows: number;
  /** Scenarios of the matrix; bare is always among them (it is every scenario's ceiling). */
  readonly scenarios: readonly ScenarioName[];
  readonly parts: ReadonlySet<Part>;
  /** Whether a backend x protocol pair runs (--quick runs the embedded backend on one protocol). */
  readonly combos: ReadonlyArray<{ readonly backend: Backend; readonly protocol: Protocol }>;
  readonly redisBenchmarkRequests: number;
  readonly postgresCeilingRows: number;
  readonly growth: GrowthOptions;
  /** Node flags for every server started (--cpu-prof: a V8 CPU profile per server process; --trace-gc). */
  readonly serverNodeArgs: readonly string[];
  /** --trace-gc: every server prints V8's trace of its collections, summed up per measured window. */
  readonly traceGc: boolean;
  /** Pin one-worker servers and the bench to a core each when taskset allows (off with --no-pin). */
  readonly pinCpus: boolean;
  /** --instances: how many servers of one deployment the instances part drives at once (0: the part does not run). */
  readonly instances: number;
  /** Serving processes per instance in the instances part (--workers, default 1). */
  readonly workersPerInstance: number;
  /** --redis-cluster: the instances part's deployment uses a Redis Cluster of its own (3 primaries on loopback) instead of REDIS_URL. */
  readonly redisCluster: boolean;
}

/** The tracing part's default protocol: the reference setting. */
const tracingDefaultProtocol: Protocol = "connect-json-h1";
/** The instances part's default protocols: one HTTP/2 multiplexed, one HTTP/1.1 keep-alive. */
const instancesDefaultProtocols: readonly Protocol[] = ["grpc", "connect-json-h1"];
/** The rules part's: the same pair (--quick: Connect JSON, the reference setting, alone). */
const rulesDefaultProtocols: readonly Protocol[] = ["grpc", "connect-json-h1"];

/** Warm-up of each run: V8 reaches steady state on the server after ~8-10 s of load (measured). */
const standardWarmupSeconds = 10;
const quickWarmupSeconds = 2;

export const usage = `npm run bench -- [options]

  (no option)          the standard set: every backend x protocol x scenario at 32 clients, 8 s each
                       after ${standardWarmupSeconds} s of warm-up (WORKERS=1), and bare against raw connect-node per
                       protocol; 1 worker vs all cores; p99 at half load;
                       Redis and Postgres ceilings; growth at 10k and 100k; the abuse controls on
                       against off (~31 minutes on 2 cores)
  --quick              smoke test: 2 s runs after ${quickWarmupSeconds} s warm-up, the embedded backend on Connect JSON only,
                       small ceilings, growth at 10k only, the rules part on one protocol (~3.5 minutes)
  --warmup <seconds>   unmeasured load before each measured run (default ${standardWarmupSeconds}, ${quickWarmupSeconds} with --quick)
  --full               also the 1M step of growth (Redis and Postgres)
  --only <name>        one scenario (${allScenarioNames.join(", ")}; bare runs with it as its ceiling),
                       or one part: matrix (every backend x protocol x scenario, nothing else),
                       raw (per protocol, bare on the onetime server and then on a raw connect-node
                       server on the same core: the full stack against its framework's ceiling; the
                       first backend only, real unless --backend; in the standard set it follows the
                       matrix's bare runs on that backend),
                       cores (1 worker vs all + half load), stores, growth,
                       tracing (the verification round trip with traces off, sampled out, and exported
                       to a local OTLP sink; ${tracingDefaultProtocol} unless --protocol),
                       rules (the verification round trip and token-request-consume with the abuse
                       controls off and on, a fresh server each; ${rulesDefaultProtocols.join(" and ")} unless --protocol)
  --instances <n>      instead of the standard set: n servers of one deployment (real backend: one schema,
                       key prefix and ENCRYPTION_KEYS), each on its own port with its own 32 clients;
                       per scenario, instance 1 alone, then all n at once: per instance and aggregate,
                       and the aggregate over instance 1 alone. Scenarios: bare and verification-roundtrip
                       (or bare and --only <scenario>); protocols: ${instancesDefaultProtocols.join(" and ")} (or --protocol)
  --workers <n>        WORKERS of each instance with --instances (default 1)
  --redis-cluster      with --instances: the deployment's Redis is a Cluster the bench starts on loopback
                       (3 primaries, no replicas; redis-server and redis-cli on the PATH), not REDIS_URL
  --rules-windows <n>  measured windows per mode in the rules part, alternating off/on, on/off, ... (default 2,
                       1 with --quick): more average out a machine whose speed drifts
  --backend <name>     ${allBackends.join(" or ")}
  --protocol <name>    ${allProtocols.join(", ")}
  --no-growth          skip the growth part
  --cpu-prof <dir>     write a V8 CPU profile of every server process into <dir> (open in Chrome DevTools)
  --heap-sample <dir>  sample every server's allocations, freed objects included, into <dir> every 10 s
                       (read two with: npx tsx bench/profile/allocations.ts <earlier> <later> [--calls N])
  --trace-gc           start every server with node's --trace-gc: per measured window, its collections'
                       main-thread pauses (scavenges, mark-compacts and their incremental steps), their
                       share of the window, and how many of the RPCs at or over p99 overlapped one (a
                       table after each part; results JSON: rows[].gc)
  --no-pin             do not pin (by default, with taskset and 2+ CPUs, a one-worker server runs on
                       one CPU and the bench on another; all-workers servers are never pinned)
  --help`;

export function parseSettings(argv: readonly string[]): BenchSettings | "help" {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      quick: { type: "boolean", default: false },
      full: { type: "boolean", default: false },
      only: { type: "string" },
      backend: { type: "string" },
      protocol: { type: "string" },
      "no-growth": { type: "boolean", default: false },
      "cpu-prof": { type: "string" },
      "heap-sample": { type: "string" },
      "trace-gc": { type: "boolean", default: false },
      warmup: { type: "string" },
      "no-pin": { type: "boolean", default: false },
      instances: { type: "string" },
      workers: { type: "string" },
      "redis-cluster": { type: "boolean", default: false },
      "rules-windows": { type: "string" },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
  });
  if (values.help === true) return "help";
  const quick = values.quick === true;
  const full = values.full === true;
  let warmupSeconds = quick ? quickWarmupSeconds : standardWarmupSeconds;
  if (values.warmup !== undefined) {
    warmupSeconds = Number(values.warmup);
    if (values.warmup.trim() === "" || !Number.isFinite(warmupSeconds) || warmupSeconds < 0 || warmupSeconds > 600) {
      throw new Error(`--warmup: expected seconds between 0 and 600, got ${values.warmup}`);
    }
  }

  const instances = values.instances === undefined ? 0 : wholeNumber("--instances", values.instances, 2, 16);
  const workersPerInstance = values.workers === undefined ? 1 : wholeNumber("--workers", values.workers, 1, 64);
  if (values.workers !== undefined && instances === 0) throw new Error("--workers: only with --instances (the standard set chooses its own)");
  if (values["redis-cluster"] === true && instances === 0) throw new Error("--redis-cluster: only with --instances");
  let backends = pick("--backend", values.backend, allBackends);
  let protocols = pick("--protocol", values.protocol, allProtocols);
  let scenarios: readonly ScenarioName[] = allScenarioNames;
  let parts = new Set<Part>(["matrix", "raw", "cores", "stores", "growth", "rules"]);
  if (values.only !== undefined) {
    const only = values.only;
    if ((allScenarioNames as readonly string[]).includes(only)) {
      scenarios = only === "bare" ? ["bare"] : ["bare", only as ScenarioName];
      parts = new Set<Part>(only === "verification-roundtrip" ? ["matrix", "cores"] : ["matrix"]);
    } else if (only === "matrix") {
      parts = new Set<Part>(["matrix"]);
    } else if (only === "raw") {
      // The matrix with bare alone, each run paired with raw connect-node's: on one backend, the
      // first (bare touches no storage, so another would only measure the same again).
      scenarios = ["bare"];
      parts = new Set<Part>(["matrix", "raw"]);
      backends = backends.slice(0, 1);
    } else if (only === "cores" || only === "stores" || only === "growth" || only === "tracing" || only === "rules") {
      scenarios = ["bare", "verification-roundtrip"];
      parts = new Set<Part>([only]);
    } else {
      throw new Error(`--only: expected one of ${[...allScenarioNames, "matrix", "raw", "cores", "stores", "growth", "tracing", "rules"].join(", ")}, got ${only}`);
    }
  }
  if (values["no-growth"] === true) parts.delete("growth");
  if (parts.has("tracing") && values.protocol === undefined) protocols = [tracingDefaultProtocol];
  // The rules compare runs on the real backend (Redis counts the traffic); an embedded-only set has none.
  if (!backends.includes("real")) {
    if (values.only === "rules") throw new Error("--only rules: runs on the real backend (Redis counts the traffic); --backend real or none");
    parts.delete("rules");
  }
  const rulesProtocols = values.protocol !== undefined ? protocols : quick ? [tracingDefaultProtocol] : rulesDefaultProtocols;
  if (instances > 0) {
    if (values.only !== undefined && !(allScenarioNames as readonly string[]).includes(values.only)) {
      throw new Error(`--instances: runs scenarios; --only ${values.only} is a part of its own`);
    }
    if (values.backend !== undefined && values.backend !== "real") throw new Error("--instances: the instances of one deployment share Postgres and Redis: --backend real only");
    if (values.only === undefined) scenarios = ["bare", "verification-roundtrip"];
    if (values.protocol === undefined) protocols = instancesDefaultProtocols;
    parts = new Set<Part>(["instances"]);
  }

  // --quick keeps every client and scenario but runs the embedded backend on one protocol only.
  const explicitProtocol = values.protocol !== undefined;
  const combos = backends.flatMap((backend) =>
    protocols
      .filter((protocol) => !quick || explicitProtocol || backend === "real" || protocol === "connect-json-h1")
      .map((protocol) => ({ backend, protocol })),
  );

  return {
    quick,
    full,
    warmupMs: Math.round(warmupSeconds * 1000),
    durationMs: quick ? 2_000 : 8_000,
    concurrency: 32,
    http2Connections: 4,
    backends,
    protocols,
    rulesProtocols,
    rulesWindows: values["rules-windows"] === undefined ? (quick ? 1 : 2) : wholeNumber("--rules-windows", values["rules-windows"], 1, 20),
    scenarios,
    parts,
    combos,
    redisBenchmarkRequests: quick ? 20_000 : 100_000,
    postgresCeilingRows: quick ? 500 : 2_000,
    growth: {
      redisSizes: quick ? [10_000] : full ? [10_000, 100_000, 1_000_000] : [10_000, 100_000],
      postgresSizes: quick ? [0, 10_000] : full ? [0, 100_000, 1_000_000] : [0, 100_000],
      validateSeconds: quick ? 2 : 5,
      validateWarmupSeconds: 2,
      postgresWrites: quick ? 500 : 2_000,
    },
    serverNodeArgs: [
      ...(values["cpu-prof"] === undefined ? [] : ["--cpu-prof", `--cpu-prof-dir=${resolve(values["cpu-prof"])}`]),
      ...(values["trace-gc"] === true ? ["--trace-gc"] : []),
      ...(values["heap-sample"] === undefined ? [] : heapSamplerArgs(resolve(values["heap-sample"]))),
    ],
    traceGc: values["trace-gc"] === true,
    pinCpus: values["no-pin"] !== true,
    instances,
    workersPerInstance,
    redisCluster: values["redis-cluster"] === true,
  };
}

function wholeNumber(flag: string, value: string, min: number, max: number): number {
  const parsed = Number(value);
  if (!/^\d+$/.test(value.trim()) || parsed < min || parsed > max) throw new Error(`${flag}: expected a whole number from ${min} to ${max}, got ${value}`);
  return parsed;
}

function pick<T extends string>(flag: string, value: string | undefined, all: readonly T[]): readonly T[] {
  if (value === undefined) return all;
  if (!(all as readonly string[]).includes(value)) throw new Error(`${flag}: expected one of ${all.join(", ")}, got ${value}`);
  return [value as T];
}

/**
 * Node flags that load bench/profile/heapSampler.cjs into a server. Its output directory reaches
 * it through the one-line preload written there (a server's environment is the bench's choice,
 * not inherited).
 */
function heapSamplerArgs(dir: string): string[] {
  mkdirSync(dir, { recursive: true });
  const sampler = fileURLToPath(new URL("./profile/heapSampler.cjs", import.meta.url));
  const preload = join(dir, "preload.cjs");
  writeFileSync(preload, `require(${JSON.stringify(sampler)}).start(__dirname);\n`);
  return ["--require", preload];
}
