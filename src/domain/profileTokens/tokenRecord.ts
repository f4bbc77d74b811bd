import type { Target, TokenOperation } from "./operations.js";
import type { UserKey } from "./securityProfile.js";

/** What is kept, sealed, beside an OTT's hash: everything consuming it needs, nothing more. */
export interface TokenRecord {
  readonly operation: TokenOperation;
  /** Absent for registration, and for password recovery of an unknown address. */
  readonly userId?: string;
  readonly destination: UserKey;
  readonly target?: Target;
  /** The request's locale: a factor change is announced in it when the OTT is consumed. */
  readonly locale?: string;
}

export function encodeRecord(record: TokenRecord): string {
  return JSON.stringify(record);
}

export function decodeRecord(data: string): TokenRecord {
  return JSON.parse(data) as TokenRecord;
}

/**
 * TTL-store key of an OTT: one live OTT per operation and subject, so a new request replaces the
 * old one, and an OTT cannot be consumed for another operation, user or processing id (the key
 * would not exist). Step 1 of a two-step operation also names the key type, so that step 2,
 * which names only its new key, finds it.
 */
export function tokenKey(operation: TokenOperation, subject: { readonly userId?: string; readonly processingId?: string }, keyType?: string): string {
  const who = subject.processingId !== undefined ? `p:${subject.processingId}` : `u:${subject.userId ?? ""}`;
  return `token:${operation}:${who}${keyType === undefined ? "" : `:${keyType}`}`;
}
