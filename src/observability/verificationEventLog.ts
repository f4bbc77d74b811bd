import type { VerificationEvent, VerificationEventFacts, VerificationEvents } from "../domain/verification/verificationEvents.js";
import type { Logger } from "./logger.js";
import type { Metrics } from "./metrics.js";

/**
 * Verification events as a log line (with the verification id, never a code or a consumer) and a
 * counter per event and method, so a spike of wrong codes or lockouts shows on a dashboard.
 */
export function verificationEventLog(logger: Logger, metrics: Metrics): VerificationEvents {
  return {
    record(event: VerificationEvent, facts: VerificationEventFacts) {
      const method = facts.method ?? "unknown";
      metrics.verificationEvents.inc({ event, method });
      logger.info({ event, verificationId: facts.verificationId, method }, "verification event");
    },
  };
}
