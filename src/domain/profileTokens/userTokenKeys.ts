import { operations, TOKEN_OPERATIONS } from "./operations.js";
import { tokenKey } from "./tokenRecord.js";

/**
 * Every key an OTT for this user can wait under: one per operation for a user, and per key type
 * for a step 1. Found without a scan, from the operations table. OTTs for a processing id
 * (registration, password recovery) are not named by a user and are not among them.
 */
export function userTokenKeys(userId: string): string[] {
  return TOKEN_OPERATIONS.filter((operation) => operations[operation].subject === "user").flatMap((operation) =>
    operations[operation].provenBy !== undefined ? (["email", "phone"] as const).map((type) => tokenKey(operation, { userId }, type)) : [tokenKey(operation, { userId })],
  );
}
