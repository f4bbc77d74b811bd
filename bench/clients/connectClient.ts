import * as http from "node:http";
import type { Duplex } from "node:stream";
import { createClient, type Interceptor, type Transport } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { Health, HealthCheckResponse_ServingStatus } from "../../gen/grpc/health/v1/health_pb.js";
import { VerificationService } from "../../gen/onetime/v1/verification_service_pb.js";
import { callDeadlineMs, type BenchClient, type ClientPool } from "./types.js";

/** Connect binary over HTTP/2 (h2c): one transport, so one HTTP/2 connection, per client. */
export function connectBinaryH2Pool(baseUrl: string, token: string, connections: number): ClientPool {
  const transports = Array.from({ length: connections }, () =>
    createConnectTransport({ baseUrl, httpVersion: "2", useBinaryFormat: true, interceptors: [bearer(token)], defaultTimeoutMs: callDeadlineMs }),
  );
  return {
    protocol: "connect-binary-h2",
    clients: transports.map(connectClient),
    plannedConnections: connections,
    connectionsOpened: () => undefined,
    // The session manager closes an idle connection by itself; nothing is left to await.
    async close() {},
  };
}

/**
 * Connect JSON over HTTP/1.1 with keep-alive: `connections` clients share one agent capped at
 * that many sockets, so each of the load generator's loops keeps reusing a warm connection.
 * The agent counts the sockets it opens, to show that they are reused rather than reopened.
 */
export function connectJsonH1Pool(baseUrl: string, token: string, connections: number): ClientPool {
  const agent = new CountingAgent({ keepAlive: true, maxSockets: connections, maxFreeSockets: connections });
  const transport = createConnectTransport({
    baseUrl,
    httpVersion: "1.1",
    useBinaryFormat: false,
    interceptors: [bearer(token)],
    nodeOptions: { agent },
    defaultTimeoutMs: callDeadlineMs,
  });
  const client = connectClient(transport);
  return {
    protocol: "connect-json-h1",
    clients: Array.from({ length: connections }, () => client),
    plannedConnections: connections,
    connectionsOpened: () => agent.opened,
    async close() {
      agent.destroy();
    },
  };
}

class CountingAgent extends http.Agent {
  opened = 0;
  override createConnection(options: http.ClientRequestArgs, callback?: (error: Error | null, stream: Duplex) => void): Duplex | null | undefined {
    this.opened++;
    return super.createConnection(options, callback);
  }
}

function bearer(token: string): Interceptor {
  const value = `Bearer ${token}`;
  return (next) => (request) => {
    request.header.set("authorization", value);
    return next(request);
  };
}

function connectClient(transport: Transport): BenchClient {
  const health = createClient(Health, transport);
  const verifications = createClient(VerificationService, transport);
  return {
    async check() {
      const answer = await health.check({ service: "" });
      if (answer.status !== HealthCheckResponse_ServingStatus.SERVING) throw new Error(`health status ${answer.status}`);
    },
    initiate: (request) => verifications.initiateVerification(request),
    validate: (request) => verifications.validateVerification(request),
  };
}
