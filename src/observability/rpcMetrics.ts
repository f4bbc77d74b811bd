import { Code } from "@connectrpc/connect";
import { Gauge, Histogram, type Registry } from "prom-client";

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
  const duration = new Histogram<RpcLabels | "rpc_response_status_code">({
    name: "rpc_server_call_duration_seconds",
    help: "Duration of RPCs served, by rpc.system (grpc, connect_rpc), service, method and status code (OK, INVALID_ARGUMENT, …); _count is the number of calls.",
    labelNames: ["rpc_system", "rpc_service", "rpc_method", "rpc_response_status_code"],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const active = new Gauge<RpcLabels>({
    name: "rpc_server_active_requests",
    help: "RPCs being served now (a stream until it ends), by rpc.system, service and method.",
    labelNames: ["rpc_system", "rpc_service", "rpc_method"],
    registers: [registry],
  });
  return {
    started(procedure, protocol) {
      active.inc(labelsOf(procedure, protocol));
    },
    ended(procedure, protocol, code, seconds, wasStarted) {
      const labels = labelsOf(procedure, protocol);
      if (wasStarted) active.dec(labels);
      duration.observe({ ...labels, rpc_response_status_code: statusName(code) }, seconds);
    },
  };
}

/** OpenTelemetry's `rpc.system` for a protocol as the call log names it (see rpc/callLog.ts's protocolOf). */
export function rpcSystemOf(protocol: string): "grpc" | "connect_rpc" {
  return protocol === "connect" ? "connect_rpc" : "grpc";
}

function labelsOf(procedure: string, protocol: string): Record<RpcLabels, string> {
  const slash = procedure.indexOf("/");
  return {
    rpc_system: rpcSystemOf(protocol),
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
