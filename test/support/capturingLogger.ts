import { Writable } from "node:stream";
import { createLogger, type Logger } from "../../src/observability/logger.js";

/** The service's logger writing into memory: each line as written, and parsed. */
export function capturingLogger(level = "info"): { logger: Logger; lines: string[]; records: Record<string, unknown>[] } {
  const lines: string[] = [];
  const records: Record<string, unknown>[] = [];
  const logger = createLogger(
    level,
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        // pino writes one JSON line per call.
        lines.push(chunk.toString());
        records.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
        done();
      },
    }),
  );
  return { logger, lines, records };
}
