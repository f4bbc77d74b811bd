import type { KeyedHash } from "../../crypto/keyedHash.js";
import type { Database } from "./database.js";
import type { MigrationContext } from "./migrations/index.js";

/**
 * What a fingerprint is made of: a keyed hash of this label under the purpose's key. The NUL
 * keeps it apart from every real value hashed for that purpose (no consumer contains one), so
 * the stored fingerprint never coincides with the name of a row.
 */
const fingerprintLabel = "\u0000onetime:key-fingerprint";

/** Which key names a purpose's durable rows, as `onetime_keys` records it. Never the key itself. */
export interface KeyFingerprint {
  readonly purpose: string;
  readonly fingerprint: string;
}

export function keyFingerprint(purpose: string, hash: KeyedHash): KeyFingerprint {
  return { purpose, fingerprint: hash(fingerprintLabel) };
}

/** The keys that name durable rows: one fingerprint per keyed hash the migrations and stores use. */
export function durableKeyFingerprints(context: MigrationContext): KeyFingerprint[] {
  return [
    keyFingerprint("totp-consumer", context.totpConsumerHash),
    ...(context.profileKeyHash === undefined ? [] : [keyFingerprint("profile-key", context.profileKeyHash)]),
  ];
}

/**
 * The server's key for some purpose is not the one this database's rows were named with. Carries
 * only the purposes: which variable to blame is for whoever knows where the key came from.
 */
export class KeyChangedError extends Error {
  constructor(readonly purposes: readonly string[]) {
    super(`the key of ${purposes.map((purpose) => `"${purpose}"`).join(", ")} differs from the one recorded in onetime_keys`);
    this.name = "KeyChangedError";
  }
}

/** A lost race is retried; past this something is deleting rows under us. */
const guardAttempts = 3;

/**
 * Records each purpose's fingerprint the first time, and otherwise checks it: throws
 * {@link KeyChangedError} when a stored one differs, having changed nothing. One statement per
 * start. Instances starting together agree on whichever insert commits first: the insert does
 * nothing on conflict, and the select beside it returns the stored row. That select reads the
 * statement's snapshot, so a row committed by another instance after the snapshot was taken is
 * in neither half; the purpose is then missing from the answer, and the next statement sees it.
 */
export async function checkKeyFingerprints(db: Database, expected: readonly KeyFingerprint[]): Promise<void> {
  if (expected.length === 0) return;
  const purposes = expected.map((each) => each.purpose);
  for (let attempt = 0; attempt < guardAttempts; attempt++) {
    const result = await db.raw<{ rows: KeyFingerprint[] }>(
      `with given as (
         select * from unnest(?::text[], ?::text[]) as given (purpose, fingerprint)
       ), recorded as (
         -- A purpose new to this database is recorded only if no other differs: a refused start
         -- (say, a new purpose's first start on the wrong key) must change nothing.
         insert into onetime_keys (purpose, fingerprint)
         select purpose, fingerprint from given
          where not exists (select 1 from onetime_keys k join given g using (purpose) where k.fingerprint <> g.fingerprint)
         on conflict (purpose) do nothing
         returning purpose, fingerprint
       )
       select purpose, fingerprint from recorded
       union all
       select purpose, fingerprint from onetime_keys where purpose = any(?::text[])`,
      [purposes, expected.map((each) => each.fingerprint), purposes],
    );
    const stored = new Map(result.rows.map((row) => [row.purpose, row.fingerprint]));
    const changed = expected.filter((each) => stored.has(each.purpose) && stored.get(each.purpose) !== each.fingerprint).map((each) => each.purpose);
    if (changed.length > 0) throw new KeyChangedError(changed);
    if (purposes.some((purpose) => !stored.has(purpose))) continue;
    return;
  }
  throw new Error(`onetime_keys: no fingerprint stored for ${purposes.join(", ")} after ${guardAttempts} attempts`);
}
