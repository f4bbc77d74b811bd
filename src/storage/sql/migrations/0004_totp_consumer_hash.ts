import type { Knex } from "knex";
import type { KeyedHash } from "../../../crypto/keyedHash.js";

/** Rows re-keyed per round trip: bounded memory and statement size, however many rows there are. */
const batchSize = 1_000;
/** An HMAC-SHA-256 in base64url, as `keyedHash` makes it with its default length. */
const hashLength = 43;

/**
 * `totp_secrets` is keyed by a keyed hash of the consumer instead of the consumer itself, so a
 * dump no longer tells whose authenticator secret a row is. The hash needs the server key, which
 * SQL does not have: existing rows are re-keyed here in JS, in batches, inside the migration's
 * transaction, so every enrolled consumer keeps their secret and a failure leaves 0003's table
 * as it was.
 */
export function totpConsumerHash(consumerHash: KeyedHash): { up(db: Knex): Promise<void>; down(db: Knex): Promise<void> } {
  return {
    async up(db) {
      await db.schema.alterTable("totp_secrets", (table) => {
        table.specificType("consumer_hash", `char(${hashLength})`);
      });
      let after: string | undefined;
      for (;;) {
        // Keyset pagination on the primary key: each batch is an index range, never a rescan.
        const query = db("totp_secrets").select<{ consumer: string }[]>("consumer").orderBy("consumer").limit(batchSize);
        const batch = await (after === undefined ? query : query.where("consumer", ">", after));
        if (batch.length === 0) break;
        const pairs = batch.map(({ consumer }) => [consumer, consumerHash(consumer)] as const);
        await db.raw(
          `update totp_secrets set consumer_hash = rekeyed.consumer_hash
             from (values ${pairs.map(() => "(?, ?)").join(", ")}) as rekeyed (consumer, consumer_hash)
            where totp_secrets.consumer = rekeyed.consumer`,
          pairs.flat(),
        );
        after = batch[batch.length - 1]!.consumer;
      }
      await db.schema.alterTable("totp_secrets", (table) => {
        table.dropPrimary();
        table.dropColumn("consumer");
      });
      await db.schema.alterTable("totp_secrets", (table) => {
        table.dropNullable("consumer_hash");
        table.primary(["consumer_hash"]);
        // char(n) pads a short value with spaces; only a whole hash is a key.
        table.check(`char_length(consumer_hash) = ${hashLength}`, {}, "totp_secrets_consumer_hash");
      });
    },

    async down() {
      // A keyed hash cannot be turned back into the consumer it was made from.
      throw new Error("0004_totp_consumer_hash cannot be reverted: the plain consumers are gone");
    },
  };
}
