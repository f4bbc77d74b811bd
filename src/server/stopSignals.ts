import type { Logger } from "../observability/logger.js";

/**
 * One Ctrl-C or one `kill` of a process group reaches this process more than once: the terminal
 * or the service manager signals every process in the group, and npm passes the signal on to its
 * child as well. Copies arrive within tens of milliseconds; a person pressing Ctrl-C
 * again because the drain takes too long does so later than this.
 */
export const relayedCopyWindowMs = 1_000;

/** Exit status of a stop forced by a second SIGINT: 128 + SIGINT, as if the signal had killed it. */
export const forcedExitCode = 130;

export interface StopSignalOptions {
  readonly logger: Logger;
  /** Starts the graceful stop; called once, on the first SIGTERM or SIGINT. */
  readonly stop: (signal: NodeJS.Signals) => void;
  /** Ends the process without finishing the drain: a second SIGINT, sent on purpose. */
  readonly forceExit: () => void;
}

/**
 * SIGTERM or SIGINT starts a graceful stop. Repeated SIGTERMs never cut it short (a service
 * manager that wants the process gone sends SIGKILL after its own timeout); a SIGINT arriving
 * more than {@link relayedCopyWindowMs} after the first signal forces an immediate exit. A
 * listener stays registered throughout: without one, Node (and tsx's child) would die of the
 * repeated signal.
 */
export function handleStopSignals(options: StopSignalOptions): void {
  let firstAt: number | undefined;
  let ignoredLogged = false;
  const onSignal = (signal: NodeJS.Signals) => {
    const now = performance.now();
    if (firstAt === undefined) {
      firstAt = now;
      options.logger.info({ signal }, "signal received");
      options.stop(signal);
      return;
    }
    if (signal === "SIGINT" && now - firstAt > relayedCopyWindowMs) {
      options.logger.warn({ signal }, "second SIGINT: exiting without finishing the drain");
      options.forceExit();
      return;
    }
    if (ignoredLogged) return;
    ignoredLogged = true;
    options.logger.info({ signal }, "already stopping: repeated signal ignored (a second SIGINT, or SIGKILL, stops at once)");
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);
}
