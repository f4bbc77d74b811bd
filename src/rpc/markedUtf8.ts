const fatal = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const lossy = new TextDecoder("utf-8", { ignoreBOM: true });

/**
 * Stands in for bytes that are not UTF-8. Any lone surrogate would do, since no UTF-8 decodes to
 * one; two low surrogates, because a JSON `\ud800` escape just before a single one would pair
 * with it into a valid character and hide the bad bytes.
 */
export const invalidUtf8Mark = "\udc00\udc00";

/**
 * Decodes UTF-8 without losing the fact that it was not: each invalid sequence becomes
 * {@link invalidUtf8Mark} rather than U+FFFD, which a caller may have sent on purpose. A string
 * that is not well-formed (`isWellFormed()`) therefore came from invalid input.
 */
export function decodeUtf8Marked(bytes: Uint8Array): string {
  try {
    return fatal.decode(bytes);
  } catch {
    // Invalid input: the slow path below.
  }
  // The lossy decoder writes U+FFFD both for invalid sequences and for a real U+FFFD (EF BF BD).
  // Cutting at each EF BF BD tells them apart: EF is never a continuation byte, so the decoder
  // always starts afresh there, and decoding the pieces apart gives what decoding them together
  // would.
  let text = "";
  let start = 0;
  for (let at = bytes.indexOf(0xef); at !== -1 && at + 2 < bytes.length; at = bytes.indexOf(0xef, at + 1)) {
    if (bytes[at + 1] === 0xbf && bytes[at + 2] === 0xbd) {
      text += markInvalid(bytes.subarray(start, at)) + "\ufffd";
      start = at + 3;
      at += 2;
    }
  }
  return text + markInvalid(bytes.subarray(start));
}

function markInvalid(bytes: Uint8Array): string {
  return lossy.decode(bytes).replaceAll("\ufffd", invalidUtf8Mark);
}
