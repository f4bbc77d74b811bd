import { InvalidArgument } from "../../errors/domainError.js";
import type { Actor } from "../actor.js";
import type { AccountTokenRecord } from "./accountToken.js";
import { AccountTokenNotFound } from "./accountTokenErrors.js";
import type { AccountTokenDependencies } from "./accountTokenDependencies.js";
import type { AccountTokenFilter, PageCursor } from "./accountTokenStore.js";

export interface ListQuery {
  readonly filter: Omit<AccountTokenFilter, "deviceHash"> & { readonly device?: { readonly provider: string; readonly deviceToken: string } };
  /** 1 to 500; default 50. */
  readonly pageSize?: number;
  readonly pageToken?: string;
}

const defaultPageSize = 50;
const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** A timestamptz as Postgres prints it, e.g. `2026-11-30 18:30:01.123456+00`. */
const postgresTime = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d{1,6})?[+-]\d{2}(:\d{2})?$/;

/**
 * What an operator asks: which tokens exist for this device or account, and kill that one. Page
 * tokens carry the filter they were made for, so a token from another query is refused rather
 * than answered with a page of something else.
 */
export class AccountTokenAdmin {
  constructor(private readonly deps: AccountTokenDependencies) {}

  async list(query: ListQuery): Promise<{ readonly tokens: readonly AccountTokenRecord[]; readonly nextPageToken?: string }> {
    const { device, ...rest } = query.filter;
    const filter: AccountTokenFilter = { ...rest, ...(device === undefined ? {} : { deviceHash: this.deps.deviceHash(`${device.provider}:${device.deviceToken}`) }) };
    const fingerprint = JSON.stringify(filter);
    const after = query.pageToken === undefined || query.pageToken === "" ? undefined : decodePageToken(query.pageToken, fingerprint);
    const page = await this.deps.store.list(filter, { size: query.pageSize || defaultPageSize, ...(after === undefined ? {} : { after }) });
    return { tokens: page.tokens, ...(page.next === undefined ? {} : { nextPageToken: encodePageToken(page.next, fingerprint) }) };
  }

  /** A revoked auth token also wakes its watchers, on every instance, so their watches end now. */
  async revoke(id: string, actor: Actor): Promise<AccountTokenRecord> {
    const revoked = await this.deps.store.revoke(id, actor);
    if (revoked === null) throw new AccountTokenNotFound();
    const { record, tokenHash } = revoked;
    // Also when it was revoked before: a signal lost then is given another chance, and one
    // nobody waits for costs a PUBLISH. The revoke stands without it: a watcher that misses it
    // still ends at expiry, and no redeem works regardless.
    if (record.kind === "auth" && record.state === "revoked") {
      await this.deps.signals.notify(tokenHash, "revoked").catch((error: unknown) => this.deps.logger.warn({ err: error }, "could not signal an auth token revoke"));
    }
    return record;
  }
}

function encodePageToken(cursor: PageCursor, fingerprint: string): string {
  return Buffer.from(JSON.stringify({ c: cursor.createdAt, i: cursor.id, f: fingerprint })).toString("base64url");
}

function decodePageToken(token: string, fingerprint: string): PageCursor {
  const refuse = () => InvalidArgument.field("page_token", "valid", "is not a page token of this query");
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(token, "base64url").toString("utf8"));
  } catch {
    throw refuse();
  }
  const { c, i, f } = (parsed ?? {}) as { c?: unknown; i?: unknown; f?: unknown };
  if (typeof c !== "string" || typeof i !== "string" || f !== fingerprint || !uuid.test(i) || !postgresTime.test(c)) throw refuse();
  return { createdAt: c, id: i };
}
