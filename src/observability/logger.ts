import { pino, type Logger } from "pino";

export type { Logger };

/**
 * Paths that can carry a secret. Nothing logs request or response messages, but a header dump or
 * an error object with a config attached must not leak a bearer token, a code or a key either.
 */
const redactedPaths = [
  "authorization",
  "*.authorization",
  "headers.authorization",
  "*.headers.authorization",
  "token",
  "*.token",
  "secret",
  "*.secret",
  "password",
  "*.password",
];

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: "onetime" },
      redact: { paths: redactedPaths, censor: "[redacted]" },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );
}
