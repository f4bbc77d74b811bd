import type { DeliveryConfig } from "../config/deliveryConfig.js";
import { developmentKeyFile } from "./encryptionKeys.js";
import type { EncryptionKey } from "./secretBox.js";

/** The key every keyed hash derives from (see keyedHash.ts), and where it came from. */
export interface ServerKey {
  readonly key: Uint8Array;
  /** Names the setting the key comes from, for a person who has to change it. */
  readonly source: "HMAC_KEY" | "ENCRYPTION_KEYS" | "generated";
}

/**
 * HMAC_KEY when configured: a stable key of its own, so encryption keys can rotate without
 * touching live codes, limits or the names of TOTP secrets. Otherwise the first encryption key,
 * which is why NODE_ENV=production requires HMAC_KEY.
 */
export function chooseServerKey(delivery: DeliveryConfig, keys: readonly EncryptionKey[]): ServerKey {
  if (delivery.hmacKey !== undefined) return { key: new Uint8Array(Buffer.from(delivery.hmacKey, "base64")), source: "HMAC_KEY" };
  return { key: keys[0]!.key, source: delivery.encryptionKeys === undefined ? "generated" : "ENCRYPTION_KEYS" };
}

/**
 * Why a start on a server key other than the one TOTP enrolments were stored under is refused,
 * and what to do: serving would make every enrolled authenticator read as not enrolled, which a
 * caller cannot tell from 2FA being off.
 */
export function serverKeyChangedMessage(source: ServerKey["source"], firstKeyId: string, dataDir: string | undefined): string {
  const consequence =
    "is not the key this database's TOTP enrolments are stored under (table onetime_keys, purposes totp-consumer and profile-key): " +
    "serving with it would make every enrolled authenticator look not enrolled, and no security profile findable by its email or phone number.";
  const unchanged = "Nothing was changed.";
  switch (source) {
    case "HMAC_KEY":
      return [
        `HMAC_KEY ${consequence}`,
        "Set HMAC_KEY back to the key in use before. If HMAC_KEY is being set for the first time, the key in use before was",
        "the first ENCRYPTION_KEYS key: set HMAC_KEY to that key's base64 (the part after \"id:\").",
        unchanged,
      ].join(" ");
    case "ENCRYPTION_KEYS":
      return [
        `HMAC_KEY is unset, so keyed hashes derive from the first ENCRYPTION_KEYS key ("${firstKeyId}"), which ${consequence}`,
        "Set HMAC_KEY to the previous first ENCRYPTION_KEYS key's base64 (the part after \"id:\"; a rotation can then keep the new key first),",
        "or put the previous first key first in ENCRYPTION_KEYS again.",
        unchanged,
      ].join(" ");
    case "generated":
      return [
        `HMAC_KEY and ENCRYPTION_KEYS are unset, so keyed hashes derive from the generated development key${dataDir === undefined ? "" : ` in ${developmentKeyFile(dataDir)}`}, which ${consequence}`,
        "Restore the key file that was there before (over any key generated in its place), or set HMAC_KEY to the key in use before.",
        unchanged,
      ].join(" ");
  }
}
