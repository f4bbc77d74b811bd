import * as http from "node:http";
import * as http2 from "node:http2";
import type { AddressInfo, Server, Socket } from "node:net";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { Health, HealthCheckResponse_ServingStatus } from "../../gen/grpc/health/v1/health_pb.js";

/**
 * The ceiling the full stack's bare Health/Check is held against: connect-node and Node's HTTP
 * servers with one handler and nothing else (no port sniffing, CORS, interceptors, auth, limits,
 * validation or logging). Run as a child process by rawServerProcess.ts, which builds it the way
 * dist/main.js is built.
 *
 * Two ports, since Node's h2c server does not speak HTTP/1.1: the HTTP/2 protocols (gRPC, Connect
 * binary) call the http2 one, Connect JSON the http1 one. Once both listen, one line goes to
 * stdout: {"http1":<port>,"http2":<port>}.
 */

const handler = connectNodeAdapter({
  routes: (router) => router.service(Health, { check: () => ({ status: HealthCheckResponse_ServingStatus.SERVING }) }),
});

const http1Server = http.createServer(handler);
const http2Server = http2.createServer(handler);

// The onetime server turns Nagle off on every connection (connectionTracker.ts); the ceiling must
// not wait for delayed ACKs where the full stack does not.
for (const server of [http1Server, http2Server]) server.on("connection", (socket: Socket) => socket.setNoDelay(true));

function listen(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve((server.address() as AddressInfo).port));
  });
}

const [http1Port, http2Port] = await Promise.all([listen(http1Server), listen(http2Server)]);
process.stdout.write(`${JSON.stringify({ http1: http1Port, http2: http2Port })}\n`);

process.once("SIGTERM", () => {
  http1Server.closeAllConnections();
  http1Server.close();
  http2Server.close();
  // Open HTTP/2 sessions would keep close() waiting; the bench has closed its clients by now.
  setTimeout(() => process.exit(0), 1_000).unref();
});
