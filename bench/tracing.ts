import type { Protocol } from "./clients/types.js";
import type { PartContext } from "./partContext.js";
import { figuresOf, ratioToOff, type RatioToOff } from "./report/ratioToOff.js";
import { tracingTable } from "./report/tracingTable.js";
import type { ScenarioRow } from "./report/types.js";
import { runScenario } from "./runScenario.js";
import { scenarios } from "./scenarios/index.js";
import { TotpConsumers } from "./scenarios/totpConsumers.js";
import { startOtlpSink } from "./server/otlpSink.js";

export type TracingMode = "off" | "sampled-out" | "on";

/** The round trip on one protocol with traces one way, and how it compares with them off. */
export interface TracingRun {
  readonly mode: TracingMode;
  readonly protocol: Protocol;
  /** The OTEL_* variables the server ran with. */
  readonly env: Readonly<Record<string, string>>;
  readonly row: ScenarioRow;
  /** Spans the sink received from this server, from its start to its stop (SIGTERM flushes the last batch). */
  readonly spansExported: number;
  /** This run over the "off" run on the same protocol: rounds/s, RPC p99, server CPU per round. */
  readonly ratioToOff: RatioToOff | null;
}

/** The three ways, in the order they run: the SDK not loaded; loaded, sampling nothing; exporting every span. */
const modes: readonly { readonly mode: TracingMode; env(endpoint: string): Record<string, string> }[] = [
  { mode: "off", env: () => ({}) },
  { mode: "sampled-out", env: (endpoint) => ({ OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_TRACES_SAMPLER: "parentbased_always_off" }) },
  { mode: "on", env: (endpoint) => ({ OTEL_EXPORTER_OTLP_ENDPOINT: endpoint }) },
];

/**
 * `--only tracing`: "tracing is free when off", measured. The verification round trip on the real
 * backend, one worker pinned like the matrix's, against a fresh server per mode (tracing is read
 * at start): off, the SDK on but sampling nothing, and every span exported over OTLP/HTTP to a
 * sink in the bench process that counts them.
 */
export async function runTracing(context: PartContext): Promise<TracingRun[]> {
  const { settings, progress } = context;
  const sink = await startOtlpSink();
  const runs: TracingRun[] = [];
  try {
    for (const protocol of settings.protocols) {
      let off: ScenarioRow | undefined;
      for (const { mode, env } of modes) {
        const serverEnv = env(sink.endpoint);
        const spansBefore = sink.spans();
        const row = await context.withServer("real", 1, "tracing", async (server) => {
          progress(`tracing/${protocol}: verification-roundtrip with traces ${mode}`);
          const pool = context.pool(protocol, server.url);
          try {
            return await runScenario({
              section: "tracing",
              server,
              pool,
              scenario: scenarios["verification-roundtrip"],
              concurrency: settings.concurrency,
              warmupMs: settings.warmupMs,
              durationMs: settings.durationMs,
              mode: { kind: "closed" },
              expectedRoundsPerSecond: undefined,
              totpConsumers: new TotpConsumers(),
            });
          } finally {
            await pool.close();
          }
        }, { env: serverEnv });
        const noted: ScenarioRow = { ...row, notes: { ...row.notes, tracing: mode } };
        context.rows.push(noted);
        if (mode === "off") off = noted;
        const spansExported = sink.spans() - spansBefore;
        runs.push({ mode, protocol, env: serverEnv, row: noted, spansExported, ratioToOff: off === undefined ? null : ratioToOff(figuresOf(noted), figuresOf(off)) });
        progress(`  ${row.load.roundsPerSecond} rounds/s, p99 ${row.load.latencyMs.p99} ms, server ${row.cpuPerRoundUs?.server ?? "-"} us/round, ${spansExported} spans exported, errors ${row.load.errors}`);
      }
    }
  } finally {
    await sink.close();
  }
  if (sink.unreadable() > 0) progress(`tracing: ${sink.unreadable()} export requests were not OTLP JSON (their spans are not counted)`);
  context.print(tracingTable(runs));
  return runs;
}
