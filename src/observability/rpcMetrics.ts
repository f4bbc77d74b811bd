import { Code } from "@connectrpc/connect";
import { Gauge, type Registry } from "prom-client";
import { createSeriesHistogram, type HistogramSeries } from "./seriesHistogram.js";

type RpcLabels = "rpc_system" | "rpc_service" | "rpc_method";

/**
 * Per-RPC metrics after the OpenTelemetry RPC semantic conventions (`rpc.server.call.duration`,
 * `rpc.server.active_requests`, attributes `rpc.system`, `rpc.service`, `rpc.method`,
 * `rpc.response.status_code`), in Prometheus' naming. A path that names no RPC counts as service
 * and method "unknown", so a scanner cannot grow the label sets.
 */
export interface RpcMetrics {
  /** A call began: it counts as active until `ended`. */
  started(procedure: string, protocol: string): void;
  ended(procedure: string, protocol: string, code: Code | undefined, seconds: number, wasStarted: boolean): void;
}

export function createRpcMetrics(registry: Registry): RpcMetrics {
  const duration = createSeriesHistogram<RpcLabels | "rpc_response_status_code">(registry, {
    name: "rpc_server_call_duration_seconds",
    help: "Duration of RPCs served, by rpc.system (grpc, connect_rpc), service, method and status code (OK, INVALID_ARGUMENT, …); _count is the number of calls.",
    labelNames: ["rpc_system", "rpc_service", "rpc_method", "rpc_response_status_code"],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  });
  /** The procedures the gauge shows, in the order they were first counted (as prom-client would list them). */
  const shown: ProcedureSeries[] = [];
  new Gauge<RpcLabels>({
    name: "rpc_server_active_requests",
    help: "RPCs being served now (a stream until it ends), by rpc.system, service and method.",
    labelNames: ["rpc_system", "rpc_service", "rpc_method"],
    registers: [registry],
    collect() {
      for (const each of shown) this.set(each.labels, each.active);
    },
  });
  // Every call finds its procedure's series here, made once, rather than having prom-client
  // validate and hash a fresh label object (issue #22). Keyed by rpc.system, not protocol: grpc
  // and grpc-web share their labels. Bounded as the labels are: procedures are named by the
  // router or "unknown".
  const bySystem = { grpc: new Map<string, ProcedureSeries>(), connect_rpc: new Map<string, ProcedureSeries>() };
  const seriesOf = (procedure: string, protocol: string): ProcedureSeries => {
    const system = rpcSystemOf(protocol);
    let series = bySystem[system].get(procedure);
    if (series === undefined) {
      series = { labels: labelsOf(procedure, system), active: 0, shown: false, byCode: [] };
      bySystem[system].set(procedure, series);
    }
    return series;
  };
  const count = (series: ProcedureSeries, delta: number) => {
    series.active += delta;
    if (!series.shown) {
      series.shown = true;
      shown.push(series);
    }
  };
  return {
    started(procedure, protocol) {
      count(seriesOf(procedure, protocol), 1);
    },
    ended(procedure, protocol, code, seconds, wasStarted) {
      const series = seriesOf(procedure, protocol);
      if (wasStarted) count(series, -1);
      // Connect's codes start at 1, so slot 0 is OK.
      const slot = code ?? 0;
      (series.byCode[slot] ??= duration.series({ ...series.labels, rpc_response_status_code: statusName(code) })).observe(seconds);
    },
  };
}

interface ProcedureSeries {
  readonly labels: Readonly<Record<RpcLabels, string>>;
  /** Calls under way. */
  active: number;
  /** Whether the gauge shows it: from its first start on. */
  shown: boolean;
  /** Its duration series by Connect code, OK at 0. */
  readonly byCode: (HistogramSeries | undefined)[];
}

/** OpenTelemetry's `rpc.system` for a protocol as the call log names it (see rpc/callLog.ts's protocolOf). */
export function rpcSystemOf(protocol: string): "grpc" | "connect_rpc" {
  return protocol === "connect" ? "connect_rpc" : "grpc";
}

function labelsOf(procedure: string, system: string): Record<RpcLabels, string> {
  const slash = procedure.indexOf("/");
  return {
    rpc_system: system,
    rpc_service: slash < 0 ? procedure : procedure.slice(0, slash),
    rpc_method: slash < 0 ? procedure : procedure.slice(slash + 1),
  };
}

/** gRPC's status names, which Connect's codes share: OK, INVALID_ARGUMENT, UNAVAILABLE, … */
function statusName(code: Code | undefined): string {
  if (code === undefined) return "OK";
  // The one name Connect spells otherwise.
  if (code === Code.Canceled) return "CANCELLED";
  return Code[code]!.replace(/([a-z])([A-Z])/g, "$1_$2").toUpperCase();
}
