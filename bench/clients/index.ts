import { connectBinaryH2Pool, connectJsonH1Pool } from "./connectClient.js";
import { grpcPool } from "./grpcClient.js";
import type { ClientPool, Protocol } from "./types.js";

export interface PoolOptions {
  /** Keep-alive HTTP/1.1 connections (one per concurrent client). */
  readonly http1Connections: number;
  /** HTTP/2 connections; the concurrent calls are multiplexed over them. */
  readonly http2Connections: number;
  /** A user principal's bearer token, for the RPCs a signed-in account calls. */
  readonly userToken: string;
}

export function createPool(protocol: Protocol, baseUrl: string, token: string, options: PoolOptions): ClientPool {
  switch (protocol) {
    case "grpc":
      return grpcPool(baseUrl, token, options.http2Connections, options.userToken);
    case "connect-binary-h2":
      return connectBinaryH2Pool(baseUrl, token, options.http2Connections, options.userToken);
    case "connect-json-h1":
      return connectJsonH1Pool(baseUrl, token, options.http1Connections, options.userToken);
  }
}
