import type { SendDecision, TrafficRule } from "../../domain/secrets/sendLimits.js";
import type { SecretState, TakeResult } from "../../domain/secrets/pendingSecrets.js";
import type { MessageKind } from "../../domain/messages/outboundMessage.js";

/*
 * Script replies arrive untyped. They are checked rather than cast, so a script and its decoder
 * drifting apart (or a foreign value under our key) fails loudly, as an unavailable store, instead
 * of being read as, say, a consumed code.
 */

export class UnexpectedRedisReply extends Error {
  constructor(what: string, reply: unknown) {
    super(`unexpected Redis reply for ${what}: ${JSON.stringify(reply)}`);
    this.name = "UnexpectedRedisReply";
  }
}

export function decodeTakeResult(reply: unknown): TakeResult {
  const [status, attempts, maxAttempts, data, ttlMs] = tuple("takeSecret", reply);
  if (status === "missing") return { status };
  const counted = { attempts: integer("takeSecret", attempts), data: text("takeSecret", data) };
  switch (status) {
    case "consumed":
      return { status, ...counted, maxAttempts: integer("takeSecret", maxAttempts), ttlMs: integer("takeSecret", ttlMs) };
    case "locked":
      return { status, ...counted };
    case "mismatch": {
      const attemptsLeft = Math.max(0, integer("takeSecret", maxAttempts) - counted.attempts);
      return { status, ...counted, attemptsLeft };
    }
    default:
      throw new UnexpectedRedisReply("takeSecret", reply);
  }
}

export function decodeSecretState(reply: unknown): SecretState | null {
  if (reply === null) return null;
  const [attempts, maxAttempts, data, ttlMs] = tuple("peekSecret", reply);
  return {
    attempts: integer("peekSecret", attempts),
    maxAttempts: integer("peekSecret", maxAttempts),
    data: text("peekSecret", data),
    ttlMs: integer("peekSecret", ttlMs),
  };
}

export function decodeAdmissionResult(reply: unknown): SendDecision {
  const [status, first, second, third] = tuple("admit", reply);
  switch (status) {
    case "admitted":
      return {
        status,
        sendNumber: integer("admit", first),
        nextSendInMs: integer("admit", second),
        reservedGuesses: integer("admit", third),
      };
    case "replay":
      return { status, answer: text("admit", first) };
    case "in_progress":
    case "conflict":
      return { status };
    case "send_limit":
    case "too_soon":
    case "guess_budget":
    case "guess_streak":
      return { status, retryAfterMs: integer("admit", first) };
    case "traffic":
      return { status, rule: trafficRule("admit", first), retryAfterMs: integer("admit", second) };
    default:
      throw new UnexpectedRedisReply("admit", reply);
  }
}

/** A traffic step on its own (Cluster): undefined when admitted and charged, else its refusal. */
export function decodeTrafficResult(reply: unknown): Extract<SendDecision, { status: "traffic" }> | undefined {
  const [status, rule, retryAfterMs] = tuple("admitTraffic", reply);
  if (status === "admitted") return undefined;
  if (status !== "traffic") throw new UnexpectedRedisReply("admitTraffic", reply);
  return { status, rule: trafficRule("admitTraffic", rule), retryAfterMs: integer("admitTraffic", retryAfterMs) };
}

export function decodeInteger(what: string, reply: unknown): number {
  return integer(what, reply);
}

/** One message handed out by the claim script, before it becomes a ClaimedMessage. */
export interface ShardClaim {
  readonly entryId: string;
  readonly deliveries: number;
  readonly id: string;
  readonly kind: MessageKind;
  /** "" when the message has none. */
  readonly template: string;
  readonly reference: string;
  readonly payload: string;
  readonly attempt: number;
  readonly maxAttempts: number;
  /** What is left of its secret's life, by Redis' clock. */
  readonly ttlMs: number;
}

const kinds: ReadonlySet<string> = new Set<MessageKind>(["email", "sms", "push"]);

export function decodeClaims(reply: unknown): ShardClaim[] {
  return tuple("claim", reply).map((claim) => {
    const [entryId, deliveries, id, kind, template, reference, payload, attempt, maxAttempts, ttlMs] = tuple("claim", claim);
    const kindText = text("claim", kind);
    if (!kinds.has(kindText)) throw new UnexpectedRedisReply("claim", claim);
    return {
      entryId: text("claim", entryId),
      deliveries: integer("claim", deliveries),
      id: text("claim", id),
      kind: kindText as MessageKind,
      template: text("claim", template),
      reference: text("claim", reference),
      payload: text("claim", payload),
      attempt: integer("claim", attempt),
      maxAttempts: integer("claim", maxAttempts),
      ttlMs: integer("claim", ttlMs),
    };
  });
}

/** The record script's answer: the entry ids recorded, and those another relay holds now. */
export function decodeRecorded(reply: unknown): [recorded: ReadonlySet<string>, takenOver: ReadonlySet<string>] {
  const [recorded, takenOver] = tuple("record", reply);
  return [new Set(decodeTexts("record", recorded)), new Set(decodeTexts("record", takenOver))];
}

export function decodeTexts(what: string, reply: unknown): string[] {
  return tuple(what, reply).map((value) => text(what, value));
}

const trafficRules: ReadonlySet<string> = new Set<TrafficRule>([
  "channel_rate",
  "prefix_rate",
  "country_rate",
  "hourly_budget",
  "daily_budget",
  "prefix_conversion",
  "country_conversion",
]);

function trafficRule(what: string, value: unknown): TrafficRule {
  const rule = text(what, value);
  if (!trafficRules.has(rule)) throw new UnexpectedRedisReply(what, value);
  return rule as TrafficRule;
}

function tuple(what: string, reply: unknown): unknown[] {
  if (!Array.isArray(reply)) throw new UnexpectedRedisReply(what, reply);
  return reply;
}

function integer(what: string, value: unknown): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value)) throw new UnexpectedRedisReply(what, value);
  return value;
}

function text(what: string, value: unknown): string {
  if (typeof value !== "string") throw new UnexpectedRedisReply(what, value);
  return value;
}
