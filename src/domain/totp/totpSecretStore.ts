import type { Actor } from "../actor.js";

/**
 * A consumer's authenticator secret as stored. The secret is only ever stored sealed (with the
 * context `totp:<consumer>`), beside the id of the key that sealed it so keys can rotate.
 */
export interface TotpSecretRecord {
  readonly sealedSecret: string;
  readonly keyId: string;
  /** `pending` until one code has been validated; a pending secret may be replaced. */
  readonly status: "pending" | "active";
  /** The newest time step whose code was accepted; it and every earlier step are spent. */
  readonly lastUsedStep: number | null;
}

export type TotpEnrolOutcome = "created" | "replaced" | "already_active";

/**
 * Durable TOTP secrets (Postgres, or PGlite embedded). Kept outside Redis because the last used
 * step must survive a Redis restart, or a spent code would work again. Callers name a secret by
 * its consumer exactly as given (an account id, an address); the store keeps only a keyed hash of
 * it, so nothing at rest says whose secret a row is.
 */
export interface TotpSecretStore {
  /** Creates a pending secret or replaces a pending one; never touches an active one. Returns what is stored afterwards. */
  enrol(consumer: string, sealedSecret: string, keyId: string): Promise<{ outcome: TotpEnrolOutcome; record: TotpSecretRecord }>;
  find(consumer: string): Promise<TotpSecretRecord | null>;
  /**
   * Atomically: records timeStep as used (and activates) only if it is newer than the last used
   * step. false = lost to a concurrent or earlier use. Activating a pending secret is a security
   * event, audited (`totp.enrolled`, by `actor`) with the change itself; a later step is not.
   */
  markUsed(consumer: string, timeStep: number, actor: Actor): Promise<boolean>;
  /**
   * Atomically deletes the secret if timeStep is newer than the last used step (a valid code that
   * turns 2FA off), audited (`totp.removed`, by `actor`) with the change itself. false otherwise.
   */
  removeAfterUse(consumer: string, timeStep: number, actor: Actor): Promise<boolean>;
}
