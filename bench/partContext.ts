import type { BenchSettings } from "./cli.js";
import type { ClientPool, Protocol } from "./clients/types.js";
import type { ScenarioRow } from "./report/types.js";
import type { Backend, OtherRedis } from "./server/backends.js";
import type { RunningServer } from "./server/serverProcess.js";

/** How a part wants its server started, beyond backend and workers. */
export interface ServerStartOptions {
  /** Environment on top of the bench's (e.g. OTEL_* for the tracing part). */
  readonly env?: Readonly<Record<string, string>>;
  /** Start another instance of this server's deployment: its schema, key prefix and ENCRYPTION_KEYS. */
  readonly sameDeploymentAs?: RunningServer;
  /** Another Redis than the bench's REDIS_URL (a Cluster of the part's own); a later instance shares its first's. */
  readonly redis?: OtherRedis;
  /** Pin a one-worker server and the bench to a core each, as planned (default true). */
  readonly pin?: boolean;
}

/** What run.ts gives a part that lives in a module of its own. */
export interface PartContext {
  readonly settings: BenchSettings;
  /** Progress to stderr; tables to stdout. */
  progress(line: string): void;
  print(text: string): void;
  /** Every measured row goes here: the targets and the results JSON read them. */
  readonly rows: ScenarioRow[];
  /** A client pool of the settings' size, signed for the service (and the user, for the RPCs a user calls). */
  pool(protocol: Protocol, url: string): ClientPool;
  /** Starts a server, runs `body` against it, stops it and records how it ended. */
  withServer<T>(backend: Backend, workers: number, label: string, body: (server: RunningServer) => Promise<T>, options?: ServerStartOptions): Promise<T>;
}
