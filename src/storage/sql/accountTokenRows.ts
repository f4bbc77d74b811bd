import type { AccountTokenKind, AccountTokenRecord, AccountTokenState } from "../../domain/accountTokens/accountToken.js";

export const accountTokensTable = "account_tokens";

/**
 * The columns every read returns. A token past its expiry reads as expired whatever its row says
 * (nothing sweeps the table); `cursor_time` is the creation time as Postgres prints it, exact to
 * the microsecond, for page cursors (a JavaScript Date would round it to milliseconds).
 */
export const recordColumns = `id, kind,
  case when state in ('sending', 'active') and expires_at <= now() then 'expired' else state end as state,
  account_id, device_hash is not null as pushed, created_at, created_at::text as cursor_time, expires_at,
  validated_at, attached_at, used_at, revoked_at`;

/** The stored state as admins filter it: the same rule as `recordColumns`. */
export const effectiveState = `(case when state in ('sending', 'active') and expires_at <= now() then 'expired' else state end)`;

export interface TokenRow {
  id: string;
  kind: AccountTokenKind;
  state: AccountTokenState;
  account_id: string | null;
  pushed: boolean;
  created_at: Date | string;
  cursor_time: string;
  expires_at: Date | string;
  validated_at: Date | string | null;
  attached_at: Date | string | null;
  used_at: Date | string | null;
  revoked_at: Date | string | null;
}

export function toRecord(row: TokenRow): AccountTokenRecord {
  return {
    id: row.id,
    kind: row.kind,
    state: row.state,
    ...(row.account_id === null ? {} : { accountId: row.account_id }),
    pushed: row.pushed,
    createdAt: new Date(row.created_at),
    expiresAt: new Date(row.expires_at),
    ...optionalDate("validatedAt", row.validated_at),
    ...optionalDate("attachedAt", row.attached_at),
    ...optionalDate("usedAt", row.used_at),
    ...optionalDate("revokedAt", row.revoked_at),
  };
}

function optionalDate<K extends string>(key: K, value: Date | string | null): { [P in K]?: Date } {
  return (value === null ? {} : { [key]: new Date(value) }) as { [P in K]?: Date };
}
