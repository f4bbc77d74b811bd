import { setTimeout as sleep } from "node:timers/promises";
import { buildApp, type App, type AppOptions } from "../app.js";
import type { Config } from "../config/config.js";
import type { Logger } from "../observability/logger.js";
import { listen, type HttpServer } from "./httpServer.js";
import { listenForMetrics, type MetricsServer } from "./metricsServer.js";

export interface RunningServer {
  readonly app: App;
  readonly http: HttpServer;
  /** The metrics port, when this process serves it (see {@link ServerOptions.servesMetrics}). */
  readonly metrics?: MetricsServer;
  /** Drains and stops; safe to call more than once. */
  shutdown(): Promise<void>;
}

export interface ServerOptions extends AppOptions {
  /**
   * Whether this process serves `config.metrics` itself. Default true; false in a worker of
   * several, whose primary serves every worker's metrics on the one metrics port.
   */
  readonly servesMetrics?: boolean;
}

/** Builds the app, listens (the API port, and the metrics port apart), and only then reports SERVING. */
export async function startServer(config: Config, logger: Logger, options: ServerOptions = {}): Promise<RunningServer> {
  const app = await buildApp(config, logger, options);
  const http = await listen(app.handler, { ...config.listen, logger, overCapacity: app.overCapacity, ...(config.tls === undefined ? {} : { tls: config.tls }) }).catch(async (error: unknown) => {
    await app.close();
    throw error;
  });
  let metrics: MetricsServer | undefined;
  if (config.metrics !== undefined && options.servesMetrics !== false) {
    const registry = app.metrics.registry;
    metrics = await listenForMetrics({ contentType: registry.contentType, read: () => registry.metrics() }, config.metrics, logger).catch(async (error: unknown) => {
      http.stopAccepting();
      await app.close();
      throw error;
    });
  }
  app.health.setAll("serving");
  app.start();

  let stopping: Promise<void> | undefined;
  return {
    app,
    http,
    ...(metrics === undefined ? {} : { metrics }),
    shutdown: () => (stopping ??= drain(app, http, metrics, config, logger)),
  };
}

/**
 * Graceful stop: tell load balancers first (health NOT_SERVING) and, if configured, keep serving
 * while they notice; then refuse new calls, end every stream, stop accepting connections and give
 * in-flight calls a bounded time. Past it, abort the handlers, cut connections, close the stores.
 */
async function drain(app: App, http: HttpServer, metrics: MetricsServer | undefined, config: Config, logger: Logger): Promise<void> {
  logger.info({ inFlight: app.calls.active, drainDelayMs: config.shutdownDrainDelayMs }, "shutting down");
  app.health.setAll("not_serving");
  if (config.shutdownDrainDelayMs > 0) await sleep(config.shutdownDrainDelayMs);
  // Refuses new calls and ends open streams with unavailable, so their clients move elsewhere.
  app.calls.close();
  http.stopAccepting();
  // Connections close once their last response is written, trailers included; waiting on the
  // connections rather than on the handlers is what lets a finished stream reach the client.
  if (!(await http.drained(config.shutdownTimeoutMs))) {
    logger.warn({ inFlight: app.calls.active, timeoutMs: config.shutdownTimeoutMs }, "in-flight calls cut off at shutdown timeout");
    app.abortCalls();
    http.destroyConnections();
    // Aborted handlers unwind quickly; give them a moment so none is left using a closed pool.
    await app.calls.idle(1_000);
  }
  await app.close();
  // Last: a scrape during the drain still sees the calls finishing.
  await metrics?.close();
  logger.info("stopped");
}
