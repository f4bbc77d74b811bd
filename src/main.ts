import cluster from "node:cluster";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { ConfigError, configHelp, loadConfig, type Config } from "./config/config.js";
import { createLogger, type Logger } from "./observability/logger.js";
import { startServer } from "./server/server.js";
import { runPrimary } from "./server/workers.js";
import { logWhereMetricsAre } from "./server/metricsServer.js";
import { answerPrimaryForMetrics } from "./observability/clusterMetrics.js";
import { forcedExitCode, handleStopSignals } from "./server/stopSignals.js";
import type { DevelopmentCredentials } from "./auth/developmentCredentials.js";
import { StartRefused, startRefusedExitCode } from "./errors/startRefused.js";

let flags: { help?: boolean };
try {
  ({ values: flags } = parseArgs({ options: { help: { type: "boolean", short: "h" } } }));
} catch (error) {
  // Settings are environment variables; a mistyped flag deserves a line saying so, not a stack.
  const reason = error instanceof Error ? error.message.split(".")[0] : String(error);
  process.stderr.write(`onetime: ${reason}. The only option is --help; settings are environment variables (--help lists them).\n`);
  process.exit(startRefusedExitCode);
}
if (flags.help === true) {
  process.stdout.write(`${configHelp()}\n`);
  process.exit(0);
}

let config;
try {
  config = loadConfig(process.env);
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  process.stderr.write(`onetime: ${error.message}\nRun with --help (\`npm start -- --help\`) for every variable and its default.\n`);
  process.exit(startRefusedExitCode);
}

const logger = createLogger(config.logLevel);
if (config.workers > 1 && cluster.isPrimary) {
  await runPrimary(config.workers, config.metrics, logger).catch((error: unknown) => failedToStart(error, logger));
} else {
  await serve(config, logger);
}

/** One serving process: the only one, or a worker of the primary above. */
async function serve(config: Config, logger: Logger): Promise<void> {
  // A worker's metrics are served by its primary, which asks for them at each scrape: answer
  // from the start, with nothing until the app is built.
  const shareMetrics = cluster.isWorker ? answerPrimaryForMetrics() : undefined;
  const server = await startServer(config, logger, { servesMetrics: shareMetrics === undefined }).catch((error: unknown) => failedToStart(error, logger));
  shareMetrics?.(server.app.metrics.registry);
  if (shareMetrics === undefined) logWhereMetricsAre(logger, server.metrics);
  logger.info(
    {
      url: server.http.url,
      database: config.database.kind,
      shortLivedStore: config.shortLivedStore.kind,
      auth: config.auth.mode,
      workers: config.workers,
    },
    "onetime is serving gRPC, gRPC-Web and Connect",
  );
  if (server.app.development !== undefined) printDevelopmentBanner(server.http.url, server.app.development, config.database);

  handleStopSignals({
    logger,
    stop: () =>
      server.shutdown().then(
        () => process.exit(0),
        (error: unknown) => {
          logger.error({ err: error }, "shutdown failed");
          process.exit(1);
        },
      ),
    forceExit: () => process.exit(forcedExitCode),
  });
}

function failedToStart(error: unknown, logger: Logger): never {
  if (error instanceof StartRefused) {
    // Something for the operator to fix, said in words: no stack trace to bury it under.
    logger.fatal({ reason: error.message }, "refused to start");
    process.stderr.write(`onetime: refused to start: ${error.message}\n`);
    process.exit(startRefusedExitCode);
  }
  logger.fatal({ err: error }, "could not start");
  process.exit(1);
}

function printDevelopmentBanner(url: string, credentials: DevelopmentCredentials, database: Config["database"]): void {
  const base = reachableUrl(url);
  // `npx onetime token` reads the secret from beside DATA_DIR: named absolutely, the line works
  // from any shell in this checkout. An in-memory secret never leaves this process.
  const userToken =
    credentials.persistent && database.kind === "pglite"
      ? ["  A user's token (its sub is the user or account id), from this checkout:", "", `  USER_TOKEN=$(DATA_DIR=${shellQuoted(resolve(database.dataDir))} npx onetime token --role user --sub user-42)`, ""]
      : [];
  // Straight to stderr, not through the logger: these are for a person at a terminal, and the
  // logger must never carry a token. Every line below the notice can be pasted into a shell as is.
  process.stderr.write(
    [
      "",
      "  DEVELOPMENT MODE: no AUTH_JWT_SECRET or AUTH_JWKS_URL, so a signing secret was generated for this run.",
      "  Never use this mode in production (NODE_ENV=production refuses it).",
      "",
      `  Paste these to call the API as a backend service and as an admin (valid 30 days${credentials.persistent ? ", across restarts" : ", until this process stops"}):`,
      "",
      `  export SERVICE_TOKEN=${credentials.serviceToken}`,
      `  export ADMIN_TOKEN=${credentials.adminToken}`,
      "",
      ...userToken,
      "  Then, for example:",
      "",
      `  npx buf curl --http2-prior-knowledge ${base}/grpc.health.v1.Health/Check`,
      `  npx buf curl --list-services --http2-prior-knowledge ${base}`,
      `  npx buf curl --http2-prior-knowledge -H "authorization: Bearer $SERVICE_TOKEN" -d '{"service":"onetime.v1.VerificationService"}' ${base}/grpc.health.v1.Health/Check`,
      "",
      "",
    ].join("\n"),
  );
}

function shellQuoted(text: string): string {
  return `'${text.replaceAll("'", `'\\''`)}'`;
}

/** The address a client on this machine reaches: a server listening on every interface says 0.0.0.0 or [::]. */
function reachableUrl(url: string): string {
  const parsed = new URL(url);
  if (parsed.hostname === "0.0.0.0" || parsed.hostname === "[::]") parsed.hostname = "localhost";
  return parsed.origin;
}
