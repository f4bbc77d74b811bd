import type { RetentionRules } from "../retention/retentionPurge.js";
import type { Parsed } from "./config.js";

const hourMs = 3_600_000;

/**
 * The retention purge's rules. Two retentions follow from other settings: an account token is
 * kept at least through the device window (the device limit counts the tokens created in it), and
 * a TOTP secret never activated goes once no verification could still activate it (the longest
 * a verification lives, and an hour for clocks that disagree).
 */
export function retentionConfig(v: Parsed): RetentionRules {
  return {
    intervalMs: v.RETENTION_INTERVAL_SECONDS! * 1000,
    batchSize: v.RETENTION_BATCH_SIZE!,
    maxBatches: v.RETENTION_MAX_BATCHES!,
    auditEventsMs: v.AUDIT_RETENTION_DAYS! * 24 * hourMs,
    auditAddressesMs: v.AUDIT_ADDRESS_RETENTION_HOURS! * hourMs,
    accountTokensMs: Math.max(v.ACCOUNT_TOKEN_RETENTION_HOURS! * hourMs, v.ACCOUNT_TOKEN_DEVICE_WINDOW_SECONDS! * 1000),
    outboxMessagesMs: v.OUTBOX_RETENTION_HOURS! * hourMs,
    pendingTotpSecretsMs: v.OUT_OF_BAND_CODE_MAX_TTL_SECONDS! * 1000 + hourMs,
    factorChangeReportsMs: v.FACTOR_REPORT_RETENTION_HOURS! * hourMs,
  };
}
