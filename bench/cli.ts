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
}

export const usage = `npm run bench -- [options]

  (no option)          the standard set: every backend x protocol x scenario at 32 clients, 8 s each
                       after 2 s of warm-up (WORKERS=1); 1 worker vs all cores; p99 at half load;
                       Redis and Postgres ceilings; growth at 10k and 100k (~8-10 minutes on 2 cores)
  --quick              smoke test: 2 s runs after 0.5 s warm-up, the embedded backend on Connect JSON only,
                       small ceilings, growth at 10k only
  --full               also the 1M step of growth (Redis and Postgres)
  --only <name>        one scenario (${allScenarioNames.join(", ")}; bare runs with it as its ceiling),
                       or one part: cores (1 worker vs all + half load), stores, growth
  --backend <name>     ${allBackends.join(" or ")}
  --protocol <name>    ${allProtocols.join(", ")}
  --no-growth          skip the growth part
  --cpu-prof <dir>     write a V8 CPU profile of every server process into <dir> (open in Chrome DevTools)
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
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
  });
  if (values.help === true) return "help";
  const quick = values.quick === true;
  const full = values.full === true;

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
    warmupMs: quick ? 500 : 2_000,
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
      postgresWrites: quick ? 500 : 2_000,
    },
    serverNodeArgs: values["cpu-prof"] === undefined ? [] : ["--cpu-prof", `--cpu-prof-dir=${resolve(values["cpu-prof"])}`],
  };
}

function pick<T extends string>(flag: string, value: string | undefined, all: readonly T[]): readonly T[] {
  if (value === undefined) return all;
  if (!(all as readonly string[]).includes(value)) throw new Error(`${flag}: expected one of ${all.join(", ")}, got ${value}`);
  return [value as T];
}
