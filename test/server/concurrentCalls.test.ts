import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { describe, expect, it } from "vitest";
import { Health, HealthCheckResponse_ServingStatus as Status } from "../../gen/grpc/health/v1/health_pb.js";
import { startTestServer } from "../support/server.js";

describe("many calls at once", () => {
  it("are served without a listener-leak warning (Connect listens on the shutdown signal once per call)", async () => {
    const server = await startTestServer("real", "concurrent");
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => warnings.push(warning);
    process.on("warning", onWarning);
    try {
      const client = createClient(Health, createGrpcTransport({ baseUrl: server.url }));
      const answers = await Promise.all(Array.from({ length: 50 }, () => client.check({})));
      expect(answers.every((answer) => answer.status === Status.SERVING)).toBe(true);
      // Warnings are emitted on the next tick.
      await new Promise((resolve) => setImmediate(resolve));
      expect(warnings.filter((warning) => warning.name === "MaxListenersExceededWarning").map((warning) => warning.message)).toEqual([]);
    } finally {
      process.off("warning", onWarning);
      await server.stop();
    }
  });
});
