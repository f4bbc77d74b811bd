import type { UserKey } from "./securityProfile.js";

/**
 * How a destination is shown in an answer: enough for the user to recognise it, not enough to
 * learn an address from: `j***@example.com`, `+1******6789`.
 */
export function maskDestination(key: UserKey): string {
  if (key.type === "email") {
    const at = key.value.lastIndexOf("@");
    return `${key.value.slice(0, Math.min(1, at))}***${key.value.slice(at)}`;
  }
  // "+" and the first digit, then the last four; never more than half of the digits in all.
  const digits = key.value.length - 1;
  const shown = Math.max(0, Math.min(4, Math.floor(digits / 2) - 1));
  return `${key.value.slice(0, 2)}${"*".repeat(key.value.length - 2 - shown)}${key.value.slice(key.value.length - shown)}`;
}
