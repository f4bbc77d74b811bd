import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { metricsPath } from "../observability/metrics.js";
import type { Logger } from "../observability/logger.js";
import { StartRefused } from "../errors/startRefused.js";

/** What the metrics port serves: one process's registry, or every worker's gathered by the primary. */
export interface MetricsSource {
  readonly contentType: string;
  read(): Promise<string>;
}

export interface MetricsServer {
  /** The address bound, as the socket reports it (`127.0.0.1` unless METRICS_HOST says otherwise). */
  readonly address: string;
  readonly port: number;
  /** What Prometheus scrapes: `http://<address>:<port>/metrics`. */
  readonly url: string;
  /** Stops listening and cuts the scrapers' connections. */
  close(): Promise<void>;
}

/**
 * Serves GET (and HEAD) /metrics on a listener of its own, apart from the API port: a metric that
 * moves for a known address and not for an unknown one would tell them apart to anyone who could
 * read it. Anything else here is a plain 404, another method on /metrics a 405.
 */
export async function listenForMetrics(source: MetricsSource, options: { readonly host: string; readonly port: number }, logger: Logger): Promise<MetricsServer> {
  const server = createServer((request, response) => answer(source, request, response, logger));
  await new Promise<void>((resolve, reject) => {
    const refuse = (error: NodeJS.ErrnoException) =>
      // A second onetime on the machine, or another exporter on 9464: the operator's to fix.
      reject(
        error.code === "EADDRINUSE"
          ? new StartRefused(`METRICS_PORT ${options.port} on ${options.host} is already in use: set METRICS_PORT to a free port (or off)`, { cause: error })
          : error,
      );
    server.once("error", refuse);
    server.listen(options.port, options.host, () => {
      server.off("error", refuse);
      resolve();
    });
  });
  const bound = server.address();
  if (bound === null || typeof bound === "string") throw new Error("metrics server is not listening on TCP");
  const host = bound.family === "IPv6" ? `[${bound.address}]` : bound.address;
  return {
    address: bound.address,
    port: bound.port,
    url: `http://${host}:${bound.port}${metricsPath}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** The one line at start that says where metrics are, or that they are off. */
export function logWhereMetricsAre(logger: Logger, server: MetricsServer | undefined): void {
  if (server === undefined) logger.info("not serving metrics (METRICS_PORT=off)");
  else logger.info({ metricsUrl: server.url }, "serving Prometheus metrics, apart from the API port");
}

function answer(source: MetricsSource, request: IncomingMessage, response: ServerResponse, logger: Logger): void {
  if ((request.url ?? "").split("?")[0] !== metricsPath) {
    response.writeHead(404, { "content-type": "text/plain; charset=utf-8" }).end(`not found: this port serves GET ${metricsPath} only\n`);
    return;
  }
  if (request.method !== "GET" && request.method !== "HEAD") {
    response.writeHead(405, { allow: "GET, HEAD", "content-type": "text/plain; charset=utf-8" }).end(`GET ${metricsPath} for the Prometheus metrics\n`);
    return;
  }
  source.read().then(
    (text) => response.writeHead(200, { "content-type": source.contentType }).end(text),
    (error: unknown) => {
      // A worker that did not answer the primary in time, say: the scrape fails, the next may not.
      logger.warn({ err: error }, "could not read the metrics");
      response.writeHead(500, { "content-type": "text/plain; charset=utf-8" }).end("could not read the metrics\n");
    },
  );
}
