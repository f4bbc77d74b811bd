import { randomBytes, randomUUID } from "node:crypto";

/**
 * A payload of the size a sealed verification email takes in outbox_messages.payload: the
 * built-in English email rendered by verificationEmail, as JSON, sealed by the secret box
 * (AES-256-GCM, base64) measures 1,673 characters.
 */
export const sealedPayloadChars = 1_700;

export function sealedPayload(): string {
  return randomBytes(Math.ceil((sealedPayloadChars * 3) / 4)).toString("base64").slice(0, sealedPayloadChars);
}

/** One outbox row as the service inserts it (sqlOutbox.enqueue), with its parameters in order. */
export const outboxInsert =
  "insert into outbox_messages (id, kind, template, reference, payload, max_attempts, expires_at) values ($1, $2, $3, $4, $5, $6, $7)";

export function outboxValues(payload: string): unknown[] {
  return [randomUUID(), "email", "verification", randomUUID(), payload, 8, new Date(Date.now() + 600_000)];
}
