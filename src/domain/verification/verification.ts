export type VerificationMethod = "email" | "phone" | "totp";

/** Seed 002's payload: a JSON object the caller attaches to a verification, kept as given. */
export type JsonObject = { [key: string]: JsonValue };
export type JsonValue = number | string | boolean | null | JsonObject | JsonValue[];

/** A verification as callers see it: never the code, never a secret. */
export interface Verification {
  readonly id: string;
  readonly method: VerificationMethod;
  readonly consumer: string;
  readonly expireAt: Date;
  readonly attempts: number;
  readonly maxAttempts: number;
  readonly payload?: JsonObject;
  readonly nextResendAt: Date;
  readonly resendCount: number;
}

/**
 * What is kept beside the code's hash in the TTL store, as compact JSON: every live verification
 * is one Redis hash, and short field names keep it well under a kilobyte.
 */
interface StoredFields {
  /** method */
  m: VerificationMethod;
  /** consumer */
  c: string;
  /** expiry, epoch ms */
  e: number;
  /** next resend, epoch ms */
  n: number;
  /** resend count */
  r: number;
  /** max attempts */
  x: number;
  /** payload */
  p?: JsonObject;
}

export function encodeStored(verification: Omit<Verification, "id" | "attempts">): string {
  const fields: StoredFields = {
    m: verification.method,
    c: verification.consumer,
    e: verification.expireAt.getTime(),
    n: verification.nextResendAt.getTime(),
    r: verification.resendCount,
    x: verification.maxAttempts,
    ...(verification.payload === undefined ? {} : { p: verification.payload }),
  };
  return JSON.stringify(fields);
}

export function decodeStored(id: string, data: string, attempts: number): Verification {
  const fields = JSON.parse(data) as StoredFields;
  return {
    id,
    method: fields.m,
    consumer: fields.c,
    expireAt: new Date(fields.e),
    attempts,
    maxAttempts: fields.x,
    ...(fields.p === undefined ? {} : { payload: fields.p }),
    nextResendAt: new Date(fields.n),
    resendCount: fields.r,
  };
}

/** TTL-store key of a verification. */
export function verificationKey(id: string): string {
  return `verification:${id}`;
}
