/**
 * What the rules log: structured fields and a message, at info or warn. The service's logger
 * (observability/logger.ts, pino) is one, and so is a test's capturing logger.
 */
export interface Logger {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
}
