import type { Logger } from "../logger.js";
import type { Actor } from "../actor.js";
import { userTokenKeys } from "../profileTokens/userTokenKeys.js";
import type { OneTimeSecrets } from "../secrets/oneTimeSecrets.js";
import type { ErasedRecords, UserRecords } from "./userRecords.js";

export interface ErasedUser extends ErasedRecords {
  /** OTTs that were waiting for the user (TokenService), revoked with their unsent messages. */
  readonly pendingTokens: number;
}

/**
 * Erases what onetime holds about one user, on an admin's word: the OTTs waiting for them first
 * (so none can be consumed against a profile being erased), then, in one transaction, the
 * profile, the account tokens of the account with that id, a TOTP secret enrolled under the id,
 * and the personal fields of their audit events. Idempotent: an unknown or erased user answers
 * zeros. A store that fails midway answers `unavailable`; calling again finishes the work.
 */
export class UserErasure {
  constructor(private readonly deps: { readonly records: UserRecords; readonly secrets: OneTimeSecrets; readonly logger: Logger }) {}

  async erase(userId: string, actor: Actor): Promise<ErasedUser> {
    const revoked = await Promise.all(userTokenKeys(userId).map((key) => this.deps.secrets.revoke(key)));
    const records = await this.deps.records.erase(userId, actor);
    const erased = { ...records, pendingTokens: revoked.filter(Boolean).length };
    // Counts only: the id is what was erased, and the request id ties this line to the audit event.
    this.deps.logger.info({ requestId: actor.requestId, erased }, "user erased");
    return erased;
  }
}
