import type { AccountTokenStore } from "../../domain/accountTokens/accountTokenStore.js";
import { accountTokensTable as table, effectiveState, recordColumns, toRecord, type TokenRow } from "./accountTokenRows.js";
import type { Database } from "./database.js";

/** Admin listing: newest first, keyset-paged on (created_at, id), so a page costs the same however deep. */
export function accountTokenList(db: Database): AccountTokenStore["list"] {
  return async (filter, page) => {
    const query = db(table).select(db.raw(recordColumns)).orderBy([
      { column: "created_at", order: "desc" },
      { column: "id", order: "desc" },
    ]);
    if (filter.deviceHash !== undefined) query.where("device_hash", filter.deviceHash);
    if (filter.accountId !== undefined) query.where("account_id", filter.accountId);
    if (filter.kind !== undefined) query.where("kind", filter.kind);
    if (filter.state !== undefined) query.whereRaw(`${effectiveState} = ?`, [filter.state]);
    if (page.after !== undefined) query.whereRaw("(created_at, id) < (?::timestamptz, ?::uuid)", [page.after.createdAt, page.after.id]);
    // One row more than asked says whether another page follows.
    const rows: TokenRow[] = await query.limit(page.size + 1);
    const tokens = rows.slice(0, page.size);
    const last = tokens[tokens.length - 1];
    return {
      tokens: tokens.map(toRecord),
      ...(rows.length > page.size && last !== undefined ? { next: { createdAt: last.cursor_time, id: last.id } } : {}),
    };
  };
}
