import { randomInt } from "node:crypto";
import { InvalidArgument } from "../../errors/domainError.js";

export type SymbolSet = "digits" | "lowercase" | "uppercase";

const alphabets: Record<SymbolSet, string> = {
  digits: "0123456789",
  lowercase: "abcdefghijklmnopqrstuvwxyz",
  uppercase: "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
};

export interface CodeSpec {
  /** 4 to 64; default 6. */
  readonly length?: number;
  /** Default digits. */
  readonly symbolSets?: readonly SymbolSet[];
}

export const defaultCodeLength = 6;
const minimumLength = 4;
const maximumLength = 64;
// A 6-digit code (19.93 bits) is the industry floor; anything guessable faster is refused.
const minimumBits = 19.9;

/**
 * A code from a CSPRNG: `crypto.randomInt` draws each character without modulo bias. Refuses
 * shapes too weak to stand a guess budget (e.g. 4 digits) or beyond reason.
 */
export function generateCode(spec: CodeSpec = {}): string {
  const length = spec.length === undefined || spec.length === 0 ? defaultCodeLength : spec.length;
  const sets = spec.symbolSets === undefined || spec.symbolSets.length === 0 ? (["digits"] as const) : spec.symbolSets;
  if (length < minimumLength || length > maximumLength) {
    throw InvalidArgument.field("generate_code.length", "range", `must be between ${minimumLength} and ${maximumLength}`);
  }
  const alphabet = [...new Set(sets)].map((set) => alphabets[set]).join("");
  const bits = length * Math.log2(alphabet.length);
  if (bits < minimumBits) {
    throw InvalidArgument.field(
      "generate_code.length",
      "entropy",
      `gives ${bits.toFixed(1)} bits; at least 20 are needed (e.g. 6 digits, or 4 letters and digits)`,
    );
  }
  let code = "";
  for (let i = 0; i < length; i++) code += alphabet[randomInt(alphabet.length)];
  return code;
}
