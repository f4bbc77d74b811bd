/**
 * A start the operator has to fix, not a crash: main.ts prints the message alone (no stack, which
 * would only bury the instructions) and exits with {@link startRefusedExitCode}, as for a bad
 * configuration. The message says what is wrong and what to do.
 */
export class StartRefused extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "StartRefused";
  }
}

/**
 * The exit status of a refused start and of a configuration error alike (Node itself never exits
 * with 2). The cluster primary reads it to stop instead of forking the worker again and again.
 */
export const startRefusedExitCode = 2;
