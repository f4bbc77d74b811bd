import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, type ConnectRouter } from "@connectrpc/connect";
import {
  Health,
  HealthCheckResponse_ServingStatus as Status,
  HealthCheckResponseSchema,
  HealthListResponseSchema,
} from "../../../gen/grpc/health/v1/health_pb.js";
import type { HealthStatus, ServingStatus } from "./healthStatus.js";

function toProto(status: ServingStatus | undefined): Status {
  if (status === undefined) return Status.SERVICE_UNKNOWN;
  return status === "serving" ? Status.SERVING : Status.NOT_SERVING;
}

function unknownService(name: string): string {
  return name.length <= 200 ? `unknown service "${name}"` : `unknown service "${name.slice(0, 200)}…" (${name.length} characters)`;
}

/** grpc.health.v1.Health, as load balancers and Kubernetes probes expect it. */
export function registerHealth(router: ConnectRouter, health: HealthStatus): void {
  router.service(Health, {
    check(request) {
      const status = health.get(request.service);
      // Echoed only in part: the message travels in a header (grpc-message), which a long name
      // would push past what HTTP/2 peers accept.
      if (status === undefined) throw new ConnectError(unknownService(request.service), Code.NotFound);
      return create(HealthCheckResponseSchema, { status: toProto(status) });
    },
    async *watch(request, context) {
      for await (const status of health.watch(request.service, context.signal)) {
        yield create(HealthCheckResponseSchema, { status: toProto(status) });
      }
    },
    list() {
      const statuses = Object.fromEntries(
        [...health.entries()].map(([name, status]) => [name, create(HealthCheckResponseSchema, { status: toProto(status) })]),
      );
      return create(HealthListResponseSchema, { statuses });
    },
  });
}
