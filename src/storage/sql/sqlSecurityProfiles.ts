import type { Knex } from "knex";
import type { KeyedHash } from "../../crypto/keyedHash.js";
import type { SecretBox } from "../../crypto/secretBox.js";
import type { Actor } from "../../domain/actor.js";
import { KeyTaken, ProfileExists } from "../../domain/profileTokens/profileTokenErrors.js";
import type { ProfileChange, SecurityProfile, SecurityProfileStore, UserKey, UserKeyState, UserKeyType } from "../../domain/profileTokens/securityProfile.js";
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
  created_at: Date | string;
  updated_at: Date | string;
}

const table = "security_profiles";
/** Column prefixes are code, never input: the only names interpolated into SQL below. */
const columnOf: Readonly<Record<UserKeyType, "email" | "phone">> = { email: "email", phone: "phone" };

/**
 * Security profiles in Postgres or PGlite. Keys are kept sealed (context `profile:<user>:<type>`,
 * so a value cannot be moved to another row) beside a keyed hash that finds them and keeps them
 * unique; the anti-phishing code is sealed. Every change is one statement: its condition in the
 * `where`, its audit row in a CTE, so the row exists if and only if the change committed.
 */
export function sqlSecurityProfiles(db: Database, box: SecretBox, keyHash: KeyedHash): SecurityProfileStore {
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
      createdAt: new Date(row.created_at),
      updatedAt: new Date(row.updated_at),
    };
  }

  /** Runs a change statement `with changed as (<change>) …` with its audit row; null when nothing changed. */
  async function changeWithAudit(change: Knex.Raw, actor: Actor, action: AuditAction, keyType?: UserKeyType): Promise<SecurityProfile | null> {
    const details = keyType === undefined ? undefined : `jsonb_build_object('key_type', '${columnOf[keyType]}')`;
    try {
      const result = await db.raw<{ rows: ProfileRow[] }>(`with changed as (?), audited as (?) select * from changed`, [
        change,
        auditInsert(db, actor, action, { from: "changed", subject: "changed.user_id", ...(details === undefined ? {} : { details }) }),
      ]);
      const [row] = result.rows;
      return row === undefined ? null : toProfile(row);
    } catch (error) {
      throw translated(error);
    }
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

    apply(userId, change, actor) {
      return changeWithAudit(changeStatement(userId, change), actor, actionOf[change.kind], "type" in change ? change.type : undefined);
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
        return update(
          `${c}_hash = ?, ${c}_sealed = ?, ${c}_verified = true, ${c}_mfa = false`,
          `${current}${mfa}`,
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
          `${c}_hash = ? and not ${c}_mfa and ${other}_hash is not null`,
          [hashOf({ type: change.type, value: change.current })],
        );
      }
      case "disable_mfa":
        return update(`${columnOf[change.type]}_mfa = false`, `${columnOf[change.type]}_mfa`, []);
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
