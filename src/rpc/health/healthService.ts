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

/** grpc.health.v1.Health, as load balancers and Kubernetes probes expect it. */
export function registerHealth(router: ConnectRouter, health: HealthStatus): void {
  router.service(Health, {
    check(request) {
      const status = health.get(request.service);
      if (status === undefined) throw new ConnectError(`unknown service "${request.service}"`, Code.NotFound);
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
