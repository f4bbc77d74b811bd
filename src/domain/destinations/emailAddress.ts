import { domainToASCII } from "node:url";
import { InvalidArgument } from "../../errors/domainError.js";

export type EmailAddressResult = { ok: true; address: string } | { ok: false; reason: string };

/** RFC 5321 4.5.3.1: a path is at most 256 octets with its angle brackets, so 254 for the address. */
const maxAddressLength = 254;
/** RFC 5321 4.5.3.1.1. */
const maxLocalPartLength = 64;
/** RFC 1035 2.3.4. */
const maxDomainLength = 253;

/**
 * RFC 5322 dot-atom: atext runs joined by single dots. Quoted local parts (`"a b"@example.com`)
 * and non-ASCII local parts (RFC 6531) are refused: they are legal, rarely real, and the classic
 * way to smuggle spaces, quotes or line breaks into a header.
 */
const dotAtomLocalPart = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/;
/** A DNS label: letters, digits and inner hyphens, 1 to 63 characters (RFC 1035, RFC 5890 A-labels). */
const dnsLabel = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/**
 * Checks an email address where it enters the system, before anything is stored or sent, and
 * names the request field in the `invalid_argument` answer. Returns the normalised form to store.
 */
export function requireEmailAddress(value: string, field: string): string {
  const result = normaliseEmailAddress(value);
  if (!result.ok) throw InvalidArgument.field(field, "email", result.reason);
  return result.address;
}

/**
 * Turns what a user typed into the address we send to, or says why it is not one. Surrounding
 * whitespace is dropped; the domain is lowercased and an internationalised domain is converted to
 * its ASCII (punycode) form; the local part is kept as typed, since only the receiving server may
 * say whether its case matters.
 *
 * Deliberately narrower than RFC 5322: one `addr-spec`, no display name, no comments, no quoted
 * local part, no domain literal (`user@[192.0.2.1]`), and a domain with at least two labels.
 */
export function normaliseEmailAddress(input: string): EmailAddressResult {
  const trimmed = input.trim();
  if (trimmed === "") return { ok: false, reason: "email address is empty" };
  // Checked before anything else so no later step can be fooled by a header break or a NUL.
  if (/[\u0000-\u001f\u007f]/.test(trimmed)) return { ok: false, reason: "email address contains control characters" };
  if (trimmed.length > maxAddressLength) return { ok: false, reason: "email address is too long" };
  if (/\s/.test(trimmed)) return { ok: false, reason: "email address contains spaces" };

  const at = trimmed.lastIndexOf("@");
  if (at === -1) return { ok: false, reason: "email address has no @" };
  if (trimmed.indexOf("@") !== at) return { ok: false, reason: "email address has more than one @" };

  const localPart = trimmed.slice(0, at);
  if (localPart === "") return { ok: false, reason: "email address has nothing before the @" };
  if (localPart.length > maxLocalPartLength) return { ok: false, reason: "email address has a local part over 64 characters" };
  if (!dotAtomLocalPart.test(localPart)) return { ok: false, reason: "email address has characters not allowed before the @" };

  const domain = asciiDomain(trimmed.slice(at + 1));
  if (domain === undefined) return { ok: false, reason: "email address has an invalid domain" };

  const address = `${localPart}@${domain}`;
  // The punycode form can be longer than what was typed.
  if (address.length > maxAddressLength) return { ok: false, reason: "email address is too long" };
  return { ok: true, address };
}

/**
 * Whether `address` is, exactly as given, an address the email channel sends to: the check the
 * RPC layer runs before it accepts an address (refusing with `invalid_argument`). Unlike
 * `normaliseEmailAddress` it does not trim, so a value with a trailing line break is refused
 * rather than quietly repaired.
 */
export function isValidEmailAddress(address: string): boolean {
  return address.trim() === address && normaliseEmailAddress(address).ok;
}

function asciiDomain(domain: string): string | undefined {
  if (domain === "" || domain.startsWith("[")) return undefined;
  // domainToASCII applies UTS #46 (lowercases, maps, punycodes) and answers "" for what it refuses.
  const ascii = domainToASCII(domain);
  if (ascii === "" || ascii.length > maxDomainLength) return undefined;
  const labels = ascii.split(".");
  if (labels.length < 2 || !labels.every((label) => dnsLabel.test(label))) return undefined;
  // An all-numeric last label makes the domain look like an IPv4 address, which is no mailbox domain.
  const topLevel = labels[labels.length - 1] ?? "";
  if (/^[0-9]+$/.test(topLevel)) return undefined;
  return ascii;
}
