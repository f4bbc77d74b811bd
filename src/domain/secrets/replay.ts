/** How an idempotent request's answer is kept (sealed) for its replays. */
export interface Replay<A> {
  encode(answer: A): string;
  decode(encoded: string): A;
}

type DateField<A> = { [K in keyof A]-?: NonNullable<A[K]> extends Date ? K : never }[keyof A] & string;

/**
 * Answers kept as JSON, their named Date fields read back as Dates. `new Date` reads the ISO
 * strings JSON writes and the epoch milliseconds answers were once kept with alike, so an answer
 * stored by an earlier version still replays.
 */
export function jsonReplay<A extends object>(dateFields: readonly DateField<A>[]): Replay<A> {
  return {
    encode: (answer) => JSON.stringify(answer),
    decode(encoded) {
      const parsed = JSON.parse(encoded) as Record<string, unknown>;
      for (const field of dateFields) {
        const value = parsed[field];
        if (typeof value === "string" || typeof value === "number") parsed[field] = new Date(value);
      }
      return parsed as A;
    },
  };
}
