import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { allProtocols, type Protocol } from "./clients/types.js";
import type { GrowthOptions } from "./growth.js";
import { allScenarioNames, type ScenarioName } from "./scenarios/scenario.js";
import { allBackends, type Backend } from "./server/backends.js";

export type Part = "matrix" | "cores" | "stores" | "growth";

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
  /** Scenarios of the matrix; bare is always among them (it is every scenario's ceiling). */
  readonly scenarios: readonly ScenarioName[];
  readonly parts: ReadonlySet<Part>;
  /** Whether a backend x protocol pair runs (--quick runs the embedded backend on one protocol). */
  readonly combos: ReadonlyArray<{ readonly backend: Backend; readonly protocol: Protocol }>;
  readonly redisBenchmarkRequests: number;
  readonly postgresCeilingRows: number;
  readonly growth: GrowthOptions;
  /** Node flags for every server started (--cpu-prof: a V8 CPU profile per server process). */
  readonly serverNodeArgs: readonly string[];
  /** Pin one-worker servers and the bench to a core each when taskset allows (off with --no-pin). */
  readonly pinCpus: boolean;
}

/** Warm-up of each run: V8 reaches steady state on the server after ~8-10 s of load (measured). */
const standardWarmupSeconds = 10;
const quickWarmupSeconds = 2;

export const usage = `npm run bench -- [options]

  (no option)          the standard set: every backend x protocol x scenario at 32 clients, 8 s each
                       after ${standardWarmupSeconds} s of warm-up (WORKERS=1); 1 worker vs all cores; p99 at half load;
                       Redis and Postgres ceilings; growth at 10k and 100k (~12 minutes on 2 cores)
  --quick              smoke test: 2 s runs after ${quickWarmupSeconds} s warm-up, the embedded backend on Connect JSON only,
                       small ceilings, growth at 10k only (~3 minutes)
  --warmup <seconds>   unmeasured load before each measured run (default ${standardWarmupSeconds}, ${quickWarmupSeconds} with --quick)
  --full               also the 1M step of growth (Redis and Postgres)
  --only <name>        one scenario (${allScenarioNames.join(", ")}; bare runs with it as its ceiling),
                       or one part: cores (1 worker vs all + half load), stores, growth
  --backend <name>     ${allBackends.join(" or ")}
  --protocol <name>    ${allProtocols.join(", ")}
  --no-growth          skip the growth part
  --cpu-prof <dir>     write a V8 CPU profile of every server process into <dir> (open in Chrome DevTools)
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
      warmup: { type: "string" },
      "no-pin": { type: "boolean", default: false },
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

  const backends = pick("--backend", values.backend, allBackends);
  const protocols = pick("--protocol", values.protocol, allProtocols);
  let scenarios: readonly ScenarioName[] = allScenarioNames;
  let parts = new Set<Part>(["matrix", "cores", "stores", "growth"]);
  if (values.only !== undefined) {
    const only = values.only;
    if ((allScenarioNames as readonly string[]).includes(only)) {
      scenarios = only === "bare" ? ["bare"] : ["bare", only as ScenarioName];
      parts = new Set<Part>(only === "verification-roundtrip" ? ["matrix", "cores"] : ["matrix"]);
    } else if (only === "cores" || only === "stores" || only === "growth") {
      scenarios = ["bare", "verification-roundtrip"];
      parts = new Set<Part>([only]);
    } else {
      throw new Error(`--only: expected one of ${[...allScenarioNames, "cores", "stores", "growth"].join(", ")}, got ${only}`);
    }
  }
  if (values["no-growth"] === true) parts.delete("growth");

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
    serverNodeArgs: values["cpu-prof"] === undefined ? [] : ["--cpu-prof", `--cpu-prof-dir=${resolve(values["cpu-prof"])}`],
    pinCpus: values["no-pin"] !== true,
  };
}

function pick<T extends string>(flag: string, value: string | undefined, all: readonly T[]): readonly T[] {
  if (value === undefined) return all;
  if (!(all as readonly string[]).includes(value)) throw new Error(`${flag}: expected one of ${all.join(", ")}, got ${value}`);
  return [value as T];
}
