import { describe, expect, it } from "vitest";
import { decodeUtf8Marked, invalidUtf8Mark } from "../../src/rpc/markedUtf8.js";

const bytes = (...values: number[]) => new Uint8Array(values);
const utf8 = (text: string) => new TextEncoder().encode(text);
const lossy = new TextDecoder("utf-8", { ignoreBOM: true });
const fatal = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** Random bytes, mostly from the ranges UTF-8 is made of, so that both valid and broken sequences are common. */
function randomBytes(length: number, random: () => number): Uint8Array {
  const pick = [
    () => 0x20 + Math.floor(random() * 0x5f),
    () => 0x80 + Math.floor(random() * 0x40),
    () => 0xc0 + Math.floor(random() * 0x20),
    () => 0xe0 + Math.floor(random() * 0x10),
    () => 0xf0 + Math.floor(random() * 0x10),
    () => [0xef, 0xbf, 0xbd][Math.floor(random() * 3)]!,
  ];
  return Uint8Array.from({ length }, () => pick[Math.floor(random() * pick.length)]!());
}

/** A small seeded generator, so a failure can be replayed. */
function seeded(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return state / 2 ** 31;
  };
}

describe("decodeUtf8Marked", () => {
  it("returns valid UTF-8 as is: non-ASCII, a U+FFFD that was sent, a leading byte order mark", () => {
    for (const text of ["", "zoë", "\ufffd", "a\ufffdb", "\ufeffkept", "𐀀 emoji 🙂"]) {
      expect(decodeUtf8Marked(utf8(text))).toBe(text);
    }
  });

  it("marks each invalid sequence instead of writing U+FFFD, and keeps a real U+FFFD beside one", () => {
    expect(decodeUtf8Marked(bytes(0x7a, 0x6f, 0xff))).toBe(`zo${invalidUtf8Mark}`);
    expect(decodeUtf8Marked(bytes(0xe2, 0xef, 0xbf, 0xbd, 0xc3))).toBe(`${invalidUtf8Mark}\ufffd${invalidUtf8Mark}`);
    // An encoded surrogate (CESU-8) is not UTF-8 either.
    expect(decodeUtf8Marked(bytes(0xed, 0xa0, 0x80)).isWellFormed()).toBe(false);
  });

  it("gives a string that is well-formed exactly when the bytes were UTF-8, and otherwise what a lossy decoder gives", () => {
    const random = seeded(20_261_130);
    for (let round = 0; round < 5_000; round++) {
      const input = randomBytes(1 + Math.floor(random() * 12), random);
      const decoded = decodeUtf8Marked(input);
      let valid = true;
      try {
        fatal.decode(input);
      } catch {
        valid = false;
      }
      expect(decoded.isWellFormed(), `bytes ${Buffer.from(input).toString("hex")}`).toBe(valid);
      expect(decoded.replaceAll(invalidUtf8Mark, "\ufffd")).toBe(lossy.decode(input));
    }
  });

  it("cannot be turned well-formed by a JSON surrogate escape next to the mark", () => {
    const json = Buffer.concat([Buffer.from('["\\ud800'), Buffer.from([0xff]), Buffer.from('"]')]);
    const [value] = JSON.parse(decodeUtf8Marked(json)) as [string];
    expect(value.isWellFormed()).toBe(false);
  });
});
