import type { PrincipalKind } from "../auth/principal.js";

/** One line of the audit trail. Never carries a code, token or secret. */
export interface AuditEvent {
  readonly requestId?: string;
  readonly principal: { readonly kind: PrincipalKind; readonly subject?: string };
  /** What was attempted, e.g. `verification.validate`. */
  readonly action: string;
  /** Whom it concerned: a user, account or verification id. */
  readonly subject?: string;
  /** How it ended, e.g. `ok`, `wrong_code`, `locked`. */
  readonly outcome: string;
  readonly details?: Readonly<Record<string, string | number | boolean>>;
}

export interface AuditLog {
  record(event: AuditEvent): Promise<void>;
}
