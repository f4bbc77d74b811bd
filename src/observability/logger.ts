import { pino, type Logger } from "pino";

export type { Logger };

/**
 * Paths that can carry a secret. Nothing logs request or response messages, but a header dump or
 * an object with a config attached must not leak a bearer token or a key either.
 */
const redactedPaths = ["authorization", "*.authorization", "headers.authorization", "*.headers.authorization", "token", "*.token", "secret", "*.secret", "password", "*.password"];

/**
 * Fields client libraries hang on their errors that echo what was sent or stored: ioredis puts
 * the command and its arguments (code hashes, stored values) on `command`, Postgres puts row
 * values in `detail` and `where`, pg keeps query `parameters`.
 */
const leakyErrorFields = new Set(["command", "args", "detail", "where", "parameters", "query", "sql", "bindings"]);

function scrub(value: unknown, depth = 0): unknown {
  if (depth > 5 || value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) return value.map((item) => scrub(item, depth + 1));
  return Object.fromEntries(
    Object.entries(value).filter(([key]) => !leakyErrorFields.has(key)).map(([key, item]) => [key, scrub(item, depth + 1)]),
  );
}

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: "onetime", pid: process.pid },
      redact: { paths: redactedPaths, censor: "[redacted]" },
      serializers: { err: (error: Error) => scrub(pino.stdSerializers.err(error)) },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );
}
