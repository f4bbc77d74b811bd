import { randomUUID } from "node:crypto";
import type { Knex } from "knex";
import type { KeyedHash } from "../../crypto/keyedHash.js";
import type { SecretBox } from "../../crypto/secretBox.js";
import type { Actor } from "../../domain/actor.js";
import { KeyTaken, ProfileExists } from "../../domain/profileTokens/profileTokenErrors.js";
import type { OutboxStore } from "../../delivery/outboxStore.js";
import type { Announce, FactorChange, ProfileChange, SecurityProfile, SecurityProfileStore, UserKey, UserKeyState, UserKeyType } from "../../domain/profileTokens/securityProfile.js";
import { limitsKeyOf } from "../../domain/verification/consumer.js";
import { auditInsert, type AuditAction } from "./auditEvents.js";
import type { Database } from "./database.js";

interface ProfileRow {
  user_id: string;
  email_hash: string | null;
  email_sealed: string | null;
  email_verified: boolean;
  email_mfa: boolean;
  phone_hash: string | null;
  phone_sealed: string | null;
  phone_verified: boolean;
  phone_mfa: boolean;
  anti_phishing_sealed: string | null;
  factor_changes_locked_at: Date | string | null;
  locked_reported_change: FactorChange | null;
  locked_change_at: Date | string | null;
  created_at: Date | string;
  updated_at: Date | string;
}

const table = "security_profiles";
const reports = "factor_change_reports";
/** Factor changes (set_key, remove_key, disable_mfa) apply only while the profile is not locked. */
const unlocked = "factor_changes_locked_at is null";
/** Column prefixes are code, never input: the only names interpolated into SQL below. */
const columnOf: Readonly<Record<UserKeyType, "email" | "phone">> = { email: "email", phone: "phone" };

/**
 * Security profiles in Postgres or PGlite. Keys are kept sealed (context `profile:<user>:<type>`,
 * so a value cannot be moved to another row) beside a keyed hash that finds them and keeps them
 * unique; the anti-phishing code is sealed. Every change is one statement: its condition in the
 * `where`, its audit row in a CTE, so the row exists if and only if the change committed. A
 * change with an announcement also writes its report tokens and queues its messages in `outbox`,
 * in the same transaction.
 */
export function sqlSecurityProfiles(db: Database, box: SecretBox, keyHash: KeyedHash, outbox?: OutboxStore): SecurityProfileStore {
  const hashOf = (key: UserKey) => keyHash(`${key.type}:${limitsKeyOf(key.type, key.value)}`);
  const seal = (userId: string, part: string, value: string) => box.seal(value, `profile:${userId}:${part}`);
  const open = (userId: string, part: string, sealed: string) => box.open(sealed, `profile:${userId}:${part}`);

  function toProfile(row: ProfileRow): SecurityProfile {
    const key = (type: "email" | "phone"): UserKeyState | undefined => {
      const sealed = row[`${type}_sealed`];
      return sealed === null ? undefined : { value: open(row.user_id, type, sealed), verified: row[`${type}_verified`], mfaEnabled: row[`${type}_mfa`] };
    };
    const email = key("email");
    const phone = key("phone");
    return {
      userId: row.user_id,
      ...(email === undefined ? {} : { email }),
      ...(phone === undefined ? {} : { phone }),
      ...(row.anti_phishing_sealed === null ? {} : { antiPhishingCode: open(row.user_id, "anti_phishing", row.anti_phishing_sealed) }),
      // The three lock columns are set and cleared together (security_profiles_lock_reason).
      ...(row.factor_changes_locked_at === null || row.locked_reported_change === null || row.locked_change_at === null
        ? {}
        : {
            factorChangesLock: {
              lockedAt: new Date(row.factor_changes_locked_at),
              reportedChange: row.locked_reported_change,
              changedAt: new Date(row.locked_change_at),
            },
          }),
      createdAt: new Date(row.created_at),
      updatedAt: new Date(row.updated_at),
    };
  }

  /** Runs a change statement `with changed as (<change>) …` with its audit row; null when nothing changed. */
  async function changeWithAudit(change: Knex.Raw, actor: Actor, action: AuditAction, keyType?: UserKeyType): Promise<SecurityProfile | null> {
    const [changed] = await changeRows(db, change, actor, action, keyType);
    return changed === undefined ? null : toProfile(changed);
  }

  /**
   * The change's rows, and with `beforeOf` the user's row as it was: every part of one statement
   * reads the same snapshot, so `before` is the row the change started from.
   */
  async function changeRows(executor: Knex | Knex.Transaction, change: Knex.Raw, actor: Actor, action: AuditAction, keyType?: UserKeyType, beforeOf?: string) {
    const details = keyType === undefined ? undefined : `jsonb_build_object('key_type', '${columnOf[keyType]}')`;
    const audited = auditInsert(db, actor, action, { from: "changed", subject: "changed.user_id", ...(details === undefined ? {} : { details }) });
    try {
      const result =
        beforeOf === undefined
          ? await executor.raw<{ rows: ProfileRow[] }>(`with changed as (?), audited as (?) select * from changed`, [change, audited])
          : await executor.raw<{ rows: (ProfileRow & { before_row: ProfileRow })[] }>(
              `with before as (select * from ${table} where user_id = ?), changed as (?), audited as (?)
               select changed.*, to_jsonb(before) as before_row from changed, before`,
              [beforeOf, change, audited],
            );
      return result.rows;
    } catch (error) {
      throw translated(error);
    }
  }

  /** A change and its announcement in one transaction: the reports and messages exist iff the change does. */
  async function applyAnnounced(userId: string, change: ProfileChange, actor: Actor, announce: Announce): Promise<SecurityProfile | null> {
    if (outbox === undefined) throw new Error("this profile store was built without an outbox: it cannot announce changes");
    return db.transaction(async (trx) => {
      const [row] = await changeRows(trx, changeStatement(userId, change), actor, actionOf[change.kind], "type" in change ? change.type : undefined, userId);
      if (row === undefined) return null;
      const after = toProfile(row);
      const announcement = announce(toProfile((row as ProfileRow & { before_row: ProfileRow }).before_row), after);
      if (announcement.reports.length > 0) {
        await trx(reports).insert(
          announcement.reports.map((report) => ({
            id: randomUUID(),
            user_id: userId,
            token_hash: report.tokenHash,
            change: report.change,
            changed_at: after.updatedAt,
            expires_at: new Date(after.updatedAt.getTime() + report.ttlMs),
          })),
        );
      }
      await outbox.enqueue(announcement.messages, trx);
      return after;
    });
  }

  return {
    async lookup(query) {
      if (query.userId === undefined && query.key === undefined) return { profile: null, keyOwner: null };
      const hashColumn = query.key === undefined ? undefined : `${columnOf[query.key.type]}_hash`;
      const hash = query.key === undefined ? undefined : hashOf(query.key);
      // Plain SQL, not the query builder: this read is on every request's path.
      const conditions = [...(query.userId === undefined ? [] : ["user_id = ?"]), ...(hashColumn === undefined ? [] : [`${hashColumn} = ?`])];
      const bindings = [...(query.userId === undefined ? [] : [query.userId]), ...(hash === undefined ? [] : [hash])];
      const { rows } = await db.raw<{ rows: ProfileRow[] }>(`select * from ${table} where ${conditions.join(" or ")}`, bindings);
      const owner = hashColumn === undefined ? undefined : rows.find((row) => row[hashColumn as "email_hash"] === hash);
      const profileRow = query.userId === undefined ? owner : rows.find((row) => row.user_id === query.userId);
      return { profile: profileRow === undefined ? null : toProfile(profileRow), keyOwner: owner?.user_id ?? null };
    },

    async create(profile, actor) {
      const values: Record<string, unknown> = { user_id: profile.userId };
      for (const type of ["email", "phone"] as const) {
        const key = profile[type];
        if (key === undefined) continue;
        Object.assign(values, {
          [`${type}_hash`]: hashOf({ type, value: key.value }),
          [`${type}_sealed`]: seal(profile.userId, type, key.value),
          [`${type}_verified`]: key.verified,
          [`${type}_mfa`]: key.mfaEnabled,
        });
      }
      if (profile.antiPhishingCode !== undefined) values.anti_phishing_sealed = seal(profile.userId, "anti_phishing", profile.antiPhishingCode);
      const insert = db(table).insert(values).returning("*").toSQL();
      const created = await changeWithAudit(db.raw(insert.sql, insert.bindings), actor, "profile.created");
      if (created === null) throw new Error("a profile insert returned no row");
      return created;
    },

    apply(userId, change, actor, announce) {
      if (announce !== undefined) return applyAnnounced(userId, change, actor, announce);
      return changeWithAudit(changeStatement(userId, change), actor, actionOf[change.kind], "type" in change ? change.type : undefined);
    },

    async lockFactorChanges(tokenHash, userId, actor) {
      // The first report locks; a later one (another key's, another change's) is audited but
      // leaves the first lock's time and reason as they were.
      const { rows } = await db.raw<{ rows: ProfileRow[] }>(
        `with report as (
           update ${reports} set used_at = now()
            where token_hash = ? and used_at is null and expires_at > now()${userId === undefined ? "" : " and user_id = ?"}
        returning user_id, change, changed_at
         ), changed as (
           update ${table} p set factor_changes_locked_at = coalesce(p.factor_changes_locked_at, now()),
                  locked_reported_change = case when p.factor_changes_locked_at is null then report.change else p.locked_reported_change end,
                  locked_change_at = case when p.factor_changes_locked_at is null then report.changed_at else p.locked_change_at end,
                  updated_at = now()
             from report where p.user_id = report.user_id
        returning p.*, report.change as reported_change, report.changed_at as reported_change_at
         ), audited as (?)
         select * from changed`,
        [
          tokenHash,
          ...(userId === undefined ? [] : [userId]),
          auditInsert(db, actor, "profile.factor_changes_locked", {
            from: "changed",
            subject: "changed.user_id",
            details: "jsonb_build_object('reported_change', changed.reported_change, 'changed_at', changed.reported_change_at)",
          }),
        ],
      );
      const [row] = rows;
      return row === undefined ? null : toProfile(row);
    },

    async unlockFactorChanges(userId, actor) {
      const unlockedRow = await changeWithAudit(
        db.raw(
          `update ${table} set factor_changes_locked_at = null, locked_reported_change = null, locked_change_at = null, updated_at = now()
            where user_id = ? and factor_changes_locked_at is not null returning *`,
          [userId],
        ),
        actor,
        "profile.factor_changes_unlocked",
      );
      if (unlockedRow !== null) return unlockedRow;
      // Not locked: nothing to audit, the profile as it is.
      const { rows } = await db.raw<{ rows: ProfileRow[] }>(`select * from ${table} where user_id = ?`, [userId]);
      return rows[0] === undefined ? null : toProfile(rows[0]);
    },
  };

  function changeStatement(userId: string, change: ProfileChange): Knex.Raw {
    const update = (set: string, condition: string, bindings: readonly Knex.RawBinding[]) =>
      db.raw(`update ${table} set ${set}, updated_at = now() where ${condition} and user_id = ? returning *`, [...bindings, userId]);
    switch (change.kind) {
      case "set_key": {
        const c = columnOf[change.type];
        const current = change.current === null ? `${c}_hash is null` : `${c}_hash = ?`;
        const mfa = change.requireMfaOff ? ` and not ${c}_mfa` : "";
        const secondFactor = change.requireSecondFactor === true ? ` and (not ${c}_mfa or ${c === "email" ? "phone" : "email"}_mfa)` : "";
        return update(
          `${c}_hash = ?, ${c}_sealed = ?, ${c}_verified = true, ${c}_mfa = false`,
          `${current}${mfa}${secondFactor} and ${unlocked}`,
          [
            hashOf({ type: change.type, value: change.value }),
            seal(userId, c, change.value),
            ...(change.current === null ? [] : [hashOf({ type: change.type, value: change.current })]),
          ],
        );
      }
      case "remove_key": {
        const c = columnOf[change.type];
        const other = c === "email" ? "phone" : "email";
        return update(
          `${c}_hash = null, ${c}_sealed = null, ${c}_verified = false, ${c}_mfa = false`,
          `${c}_hash = ? and not ${c}_mfa and ${other}_hash is not null and ${unlocked}`,
          [hashOf({ type: change.type, value: change.current })],
        );
      }
      case "disable_mfa":
        return update(`${columnOf[change.type]}_mfa = false`, `${columnOf[change.type]}_mfa and ${unlocked}`, []);
      case "enable_mfa":
        return update(`${columnOf[change.type]}_mfa = true`, `${columnOf[change.type]}_verified and ${columnOf[change.type]}_hash is not null`, []);
      case "set_anti_phishing_code":
        return update("anti_phishing_sealed = ?", "true", [seal(userId, "anti_phishing", change.code)]);
    }
  }
}

const actionOf: Readonly<Record<ProfileChange["kind"], AuditAction>> = {
  set_key: "profile.key_set",
  remove_key: "profile.key_removed",
  disable_mfa: "profile.mfa_disabled",
  enable_mfa: "profile.mfa_enabled",
  set_anti_phishing_code: "profile.anti_phishing_code_set",
};

/** A unique violation is a rule of the domain: the user has a profile, or the key is another's. */
function translated(error: unknown): unknown {
  const { code, constraint } = (error ?? {}) as { code?: unknown; constraint?: unknown };
  if (code !== "23505") return error;
  return constraint === `${table}_pkey` ? new ProfileExists() : new KeyTaken();
}
