import { requireEmailAddress } from "../destinations/emailAddress.js";
import { requirePhoneNumber } from "../destinations/phoneNumber.js";
import { InvalidArgument } from "../../errors/domainError.js";
import type { VerificationMethod } from "./verification.js";

/**
 * The one form a consumer is known by, whatever the caller typed: a checked email address (domain
 * lowercased), a phone number in E.164, or a TOTP account id as given less surrounding space. Limits,
 * records and TOTP secrets are all keyed by it.
 */
export function normaliseConsumer(method: VerificationMethod, raw: string): string {
  switch (method) {
    case "email":
      return requireEmailAddress(raw, "consumer");
    case "phone":
      return requirePhoneNumber(raw, "consumer");
    case "totp": {
      const consumer = raw.trim();
      if (consumer === "" || /[\u0000-\u001f\u007f]/.test(consumer)) {
        throw InvalidArgument.field("consumer", "printable", "must be a non-empty id without control characters");
      }
      return consumer;
    }
  }
}

/** Mailbox local parts are case-insensitive in practice: Bob@ and BOB@ share one set of limits. */
export function limitsKeyOf(method: VerificationMethod, consumer: string): string {
  return method === "email" ? consumer.toLowerCase() : consumer;
}
