import { describe, expect, it } from "vitest";
import { jsonReplay } from "../../../src/domain/secrets/replay.js";

interface Answer {
  readonly id: string;
  readonly expireAt: Date;
  readonly nextResendAt: Date;
  readonly seenAt?: Date;
}

/** An idempotent request's answer, kept for its replays, comes back as it was given. */
describe("answers kept for replays", () => {
  const replay = jsonReplay<Answer>(["expireAt", "nextResendAt", "seenAt"]);

  it("come back with their dates as dates, and absent fields absent", () => {
    const answer: Answer = { id: "a", expireAt: new Date(Date.UTC(2026, 0, 1, 0, 10)), nextResendAt: new Date(Date.UTC(2026, 0, 1, 0, 0, 30)) };
    const replayed = replay.decode(replay.encode(answer));
    expect(replayed).toEqual(answer);
    expect(replayed.expireAt).toBeInstanceOf(Date);
    expect("seenAt" in replayed).toBe(false);
  });

  it("read answers an earlier version kept with epoch milliseconds", () => {
    const kept = JSON.stringify({ id: "a", expireAt: Date.UTC(2026, 0, 1, 0, 10), nextResendAt: Date.UTC(2026, 0, 1, 0, 0, 30) });
    expect(replay.decode(kept)).toEqual({ id: "a", expireAt: new Date(Date.UTC(2026, 0, 1, 0, 10)), nextResendAt: new Date(Date.UTC(2026, 0, 1, 0, 0, 30)) });
  });
});
