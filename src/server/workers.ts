import cluster, { type Worker } from "node:cluster";
import type { Config } from "../config/config.js";
import { startRefusedExitCode } from "../errors/startRefused.js";
import { workersMetrics } from "../observability/clusterMetrics.js";
import type { Logger } from "../observability/logger.js";
import { listenForMetrics, logWhereMetricsAre } from "./metricsServer.js";
import { forcedExitCode, handleStopSignals } from "./stopSignals.js";

/**
 * The primary of a multi-process server: serves the metrics port (every worker's metrics,
 * combined), forks `count` workers that share the listening port (the cluster module hands
 * connections out round-robin), replaces one that dies, and on SIGTERM or SIGINT passes the
 * signal on and waits for every worker's own graceful drain (see stopSignals.ts for repeated
 * signals). Rejects, before forking any worker, if the metrics port cannot be listened on.
 */
export async function runPrimary(count: number, metrics: Config["metrics"], logger: Logger): Promise<void> {
  // Served until the primary exits, after its last worker: a scrape meanwhile reads those still up.
  const metricsServer = metrics === undefined ? undefined : await listenForMetrics(workersMetrics(), metrics, logger);
  logWhereMetricsAre(logger, metricsServer);
  let stopping = false;
  const fork = () => cluster.fork();
  for (let i = 0; i < count; i++) fork();
  logger.info({ workers: count }, "started workers");

  cluster.on("exit", (worker: Worker, code: number | null, signal: string | null) => {
    if (stopping) {
      if (Object.keys(cluster.workers ?? {}).length === 0) {
        logger.info("all workers stopped");
        // 0 after a signal; a refused start keeps its status.
        process.exit(process.exitCode ?? 0);
      }
      return;
    }
    if (code === startRefusedExitCode) {
      // The worker refused to start for a reason every other one shares (a changed key, say):
      // forking it again would only repeat the refusal every second. Stop, with its status.
      logger.fatal({ workerPid: worker.process.pid, code }, "a worker refused to start; stopping");
      stopping = true;
      process.exitCode = startRefusedExitCode;
      for (const other of Object.values(cluster.workers ?? {})) other?.process.kill("SIGTERM");
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(startRefusedExitCode);
      return;
    }
    logger.error({ workerPid: worker.process.pid, code, signal }, "worker died; starting another");
    // A worker that fails at start would otherwise be re-forked in a tight loop.
    setTimeout(fork, 1_000).unref();
  });

  handleStopSignals({
    logger,
    stop: (signal) => {
      stopping = true;
      logger.info({ signal }, "stopping workers");
      // Workers in this process group got the signal too; one more copy is ignored there.
      for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill(signal);
    },
    forceExit: () => {
      for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill("SIGKILL");
      process.exit(forcedExitCode);
    },
  });
}
