import type { Actor } from "../actor.js";

/** What erasing one user removed from the durable store. */
export interface ErasedRecords {
  /** 1 if the user had a security profile. */
  readonly securityProfiles: number;
  /** Account tokens bound to the account of that id. */
  readonly accountTokens: number;
  /** A TOTP secret enrolled with the user id as its consumer. */
  readonly totpSecrets: number;
  /** Audit events whose personal fields (who, about whom, from where) were cleared. */
  readonly auditEvents: number;
  /** "This wasn't me" report tokens sent to the user's keys, used or not. */
  readonly factorChangeReports: number;
}

/**
 * The durable side of erasing a user (Postgres or PGlite): everything goes in one transaction
 * with an audit event of its own that names nobody, so the erasure is recorded and undoes itself
 * only by failing whole. Erasing again finds nothing and answers zeros.
 */
export interface UserRecords {
  erase(userId: string, actor: Actor): Promise<ErasedRecords>;
}
