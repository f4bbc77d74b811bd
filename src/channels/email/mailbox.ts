import addressparser from "nodemailer/lib/addressparser";
import { isValidEmailAddress, normaliseEmailAddress } from "../../domain/destinations/emailAddress.js";

/** A mailbox with an optional display name, as in `From: onetime <no-reply@example.com>`. */
export interface Mailbox {
  readonly name: string;
  readonly address: string;
}

/**
 * Parses a configured sender or reply-to: a bare address or `Display Name <address>`. Returns
 * undefined unless it is exactly one mailbox (not a group, not a list) whose address passes
 * `isValidEmailAddress`.
 */
export function parseMailbox(input: string): Mailbox | undefined {
  // addressparser is lenient by design (it reads whatever a mail client wrote), so the characters
  // that could break out of the header are refused here, before it runs.
  if (/[\u0000-\u001f\u007f]/.test(input) || input.length > 998) return undefined;
  const parsed = addressparser(input);
  if (parsed.length !== 1) return undefined;
  const [entry] = parsed;
  if (entry === undefined || entry.group !== undefined) return undefined;
  const normalised = normaliseEmailAddress(entry.address);
  if (!normalised.ok || !isValidEmailAddress(entry.address)) return undefined;
  return { name: entry.name, address: normalised.address };
}

/** The part of an address after its last `@`. */
export function domainOf(address: string): string {
  return address.slice(address.lastIndexOf("@") + 1);
}
