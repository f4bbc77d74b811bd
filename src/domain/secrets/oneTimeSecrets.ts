import { randomBytes } from "node:crypto";
import type { OutboundMessage } from "../messages/outboundMessage.js";
import type { KeyedHash } from "../../crypto/keyedHash.js";
import type { SecretBox } from "../../crypto/secretBox.js";
import type { MessageSealer } from "../messages/messageDelivery.js";
import type { Logger } from "../logger.js";
import { DestinationNotAllowed, TrafficRefused } from "../traffic/trafficErrors.js";
import type { Medium, TrafficPolicy } from "../traffic/trafficPolicy.js";
import type { PendingSecrets } from "./pendingSecrets.js";
import { IdempotencyKeyReused, IdempotentRequestInProgress, refusalRules, SendRefused } from "./secretErrors.js";
import type { GuessBudget, SendDecision, SendLimit, SendLimits, TrafficRequest } from "./sendLimits.js";
import { StoreWork } from "../storeWork.js";
import { unobservedRefusals, type SendRefusals } from "./sendRefusals.js";
import type { Replay } from "./replay.js";

export interface OneTimeSecretsDependencies {
  readonly pending: PendingSecrets;
  readonly limits: SendLimits;
  /** Seals each secret's record and each idempotent answer: nothing readable at rest. */
  readonly box: SecretBox;
  /** Keyed hash of `key:code`: the only form in which a code is kept. */
  readonly codeHash: KeyedHash;
  /** Keyed hash of a recipient, naming its limits in the store. */
  readonly recipientScope: KeyedHash;
  /**
   * Keyed hash of an idempotent request's fingerprint: a plain digest of a request holding a
   * forced code or an address would fall to a dictionary in a dump.
   */
  readonly requestHash: KeyedHash;
  readonly delivery: MessageSealer;
  /** The destination policy and the traffic each send is charged to (SMS pumping, spend). */
  readonly traffic: TrafficPolicy;
  /** Where refusals are reported for operators; unobserved by default. */
  readonly refusals?: SendRefusals;
  readonly logger: Logger;
  readonly now?: () => number;
}

/**
 * Whose guesses a secret spends. "public": a code anyone may have sent to an address they name
 * (registration, password recovery, a new key); "account": the codes a backend asks for on a
 * user's behalf (login MFA, a verification it starts, changes to a user's own keys). Each pool
 * has its own send windows and guess budget per recipient, so nobody who can only reach the
 * first can use up the second.
 */
export type GuessPool = "public" | "account";

/** What the send limits granted an issued secret. */
export interface Grant {
  readonly issuedAt: Date;
  readonly expireAt: Date;
  /** Guesses this secret allows: what was asked, or fewer when the guess budget runs low. */
  readonly maxAttempts: number;
  /** 1 for the first secret sent to this recipient in the send window. */
  readonly sendNumber: number;
  /** When the next secret to this recipient through this channel would be accepted. */
  readonly nextSendAt: Date;
}

/** The message that delivers a code, rendered by the caller (who knows its template). */
export interface SecretMessage {
  readonly message: OutboundMessage;
  /** Template name, for logs and metrics. */
  readonly template: string;
  /** What it belongs to (a verification id), for tracing. */
  readonly reference: string;
}

export interface IssueRequest<A> {
  /** Where the secret waits; redeem, peek and revoke name it the same way. */
  readonly key: string;
  /** Who receives it: an address, a phone number, an account id. Charged for sends and guesses. */
  readonly recipient: string;
  /** Which send limit applies (a channel or an operation); the guess budget is shared by all. */
  readonly channel: string;
  /** How the code travels, for the destination policy and traffic rules; absent when nothing is sent (TOTP). */
  readonly medium?: Medium;
  /** Whose guesses it spends. */
  readonly pool: GuessPool;
  readonly ttlMs: number;
  /** Guesses asked for; the guess budget may grant fewer. */
  readonly maxAttempts: number;
  readonly sends: SendLimit;
  readonly guesses: Omit<GuessBudget, "reserve">;
  /**
   * A client's retry key and what makes its request this request (see requestFingerprint): a retry
   * gets the first answer, and nothing is sent again.
   */
  readonly idempotency?: { readonly key: string; readonly fingerprint: string };
  /**
   * A live secret under the key: replace it (a new code supersedes the old, whose message is then
   * never sent) or refuse with this error.
   */
  readonly whenTaken: "replace" | (() => Error);
  /** The code itself; absent when the secret is checked elsewhere (TOTP), so nothing can match it. */
  readonly code?: string;
  /** The caller's record, kept sealed beside the code and handed back on every read. */
  record(grant: Grant): string;
  /** The message that delivers the code, queued together with it. */
  message?(grant: Grant): SecretMessage;
  /**
   * Finishes the issue once the secret is stored (e.g. TOTP enrolment in Postgres) and builds the
   * answer. If it throws, the secret is revoked and the charge refunded.
   */
  answer(grant: Grant): Promise<A> | A;
  /** How the answer is kept for idempotent replays (sealed). */
  readonly replay: Replay<A>;
}

export type Redemption =
  | {
      readonly status: "redeemed";
      readonly attempts: number;
      readonly record: string;
      /**
       * Puts the secret back as it was before this redemption (same code, the time and guesses it
       * had left), for a caller whose work after redeeming failed; unless a new secret took its
       * place meanwhile. True if it is back.
       */
      undo(): Promise<boolean>;
    }
  | { readonly status: "wrong"; readonly attempts: number; readonly attemptsLeft: number; readonly record: string }
  | { readonly status: "locked"; readonly attempts: number; readonly record: string }
  | { readonly status: "missing" };

export interface PendingSecret {
  readonly attempts: number;
  readonly maxAttempts: number;
  readonly record: string;
  readonly expireAt: Date;
}

/**
 * The life of a one-time secret, for every service that hands one out: issue it within the
 * recipient's send limits (resend waits, guess budget, idempotency), keep only a keyed hash of it
 * with the message that delivers it, and undo everything if a step fails; then redeem it: count the
 * attempt, compare in constant time, consume exactly once, lock after the last attempt. The rules
 * of what a secret is for stay with the services (verifications, profile tokens, account tokens).
 */
export class OneTimeSecrets {
  private readonly now: () => number;

  constructor(private readonly deps: OneTimeSecretsDependencies) {
    this.now = deps.now ?? Date.now;
  }

  /**
   * The scope a recipient's limits are kept under in one pool: a keyed hash, so the store never
   * holds the address. The account pool keeps the plain recipient's scope.
   */
  private scopeOf(recipient: string, pool: GuessPool): string {
    return this.deps.recipientScope(pool === "account" ? recipient : `${pool}:${recipient}`);
  }

  /** Throws DestinationNotAllowed for a destination the policy refuses; nothing is charged or looked up. */
  checkDestination(medium: Medium, address: string): void {
    this.reportingRefusal(medium, () => this.deps.traffic.checkDestination(medium, address));
  }

  /** Runs a policy decision, reporting a refused destination for operators. */
  private reportingRefusal<T>(medium: Medium, decide: () => T): T {
    try {
      return decide();
    } catch (error) {
      if (error instanceof DestinationNotAllowed) this.report({ rule: `destination_${error.rule}`, channel: medium, country: error.facts.country });
      throw error;
    }
  }

  async issue<A>(request: IssueRequest<A>): Promise<A> {
    const { limits, box, pending } = this.deps;
    // The admit, the put and whatever undoes them: one deadline on a store that can be slow.
    const work = new StoreWork();
    const scope = this.scopeOf(request.recipient, request.pool);
    const medium = request.medium;
    // The destination policy decides first (trafficOf refuses what it refuses), before anything is charged.
    const traffic: TrafficRequest | undefined =
      medium === undefined ? undefined : this.reportingRefusal(medium, () => this.deps.traffic.trafficOf(medium, request.recipient, request.pool));
    // A lease: long enough for a client's retries, short enough that a crash between charging and
    // answering does not block the key for the secret's whole life.
    const idempotency =
      request.idempotency === undefined
        ? undefined
        : { key: request.idempotency.key, fingerprint: this.deps.requestHash(request.idempotency.fingerprint), ttlMs: Math.min(request.ttlMs, idempotencyTtlMs) };
    const decision = await limits.admit({
      scope,
      bucket: request.channel,
      ...(idempotency === undefined ? {} : { idempotency }),
      sends: request.sends,
      guesses: { ...request.guesses, reserve: request.maxAttempts },
      ...(traffic === undefined ? {} : { traffic }),
    }, work);
    if (decision.status === "replay") return request.replay.decode(box.open(decision.answer, answerContext(scope, idempotency!.key)));
    if (decision.status !== "admitted") throw this.refusal(decision, medium ?? request.channel, traffic);

    const now = this.now();
    const grant: Grant = {
      issuedAt: new Date(now),
      expireAt: new Date(now + request.ttlMs),
      maxAttempts: decision.reservedGuesses,
      sendNumber: decision.sendNumber,
      nextSendAt: new Date(now + decision.nextSendInMs),
    };
    // The data of the put this call attempted, until the put answers false: a put that threw may
    // still have stored it (a timeout or a reset after the script was sent), so the undo must
    // assume it did, and remove only that very record (with ifAbsent, a live secret under the key
    // may be a concurrent request's).
    let attempted: string | undefined;
    try {
      const secretMessage = request.message?.(grant);
      const message =
        secretMessage === undefined
          ? undefined
          : this.deps.delivery.seal(secretMessage.message, { template: secretMessage.template, reference: secretMessage.reference });
      const envelope: Envelope = {
        r: request.record(grant),
        s: scope,
        ...(request.guesses.streak === undefined ? {} : { g: request.guesses.streak.windowMs }),
        ...(traffic?.area?.conversion === undefined ? {} : { t: traffic }),
      };
      const data = box.seal(JSON.stringify(envelope), recordContext(request.key));
      attempted = data;
      const stored = await pending.put(
        request.key,
        {
          // A secret checked elsewhere gets a random hash that no guess can match; its attempts still count.
          hash: request.code === undefined ? randomBytes(32).toString("base64url") : this.hashOf(request.key, request.code),
          maxAttempts: grant.maxAttempts,
          data,
        },
        request.ttlMs,
        { ifAbsent: request.whenTaken !== "replace", ...(message === undefined ? {} : { message }) },
        work,
      );
      if (!stored) {
        attempted = undefined;
        throw (request.whenTaken as () => Error)();
      }
      const answer = await request.answer(grant);
      if (idempotency !== undefined) await this.rememberAnswer(scope, idempotency, request.replay.encode(answer), work);
      return answer;
    } catch (error) {
      // Nothing usable may outlive a failed issue: the secret goes (and its message with it), the
      // guesses and the send come back (nothing was sent, so no resend wait is owed), and a retry
      // with the same idempotency key may run again.
      // If the undo itself fails the code may still be out, so its send stays charged.
      // The undo is part of the same work as what failed, so it shares its deadline: a store that
      // is gone fails it too, and what it left expires by itself, said once below.
      const left: string[] = [];
      const undone = attempted === undefined || (await pending.revoke(request.key, { data: attempted }, work).then(() => true, () => false));
      if (!undone) left.push("secret, if it was stored, with its message");
      // A message that may be out stays charged to its traffic too.
      const refund = { guesses: grant.maxAttempts, ...(undone ? { sendNumber: grant.sendNumber, ...(traffic === undefined ? {} : { traffic }) } : {}) };
      if (!(await limits.refund(scope, request.channel, refund, work).then(() => true, () => false))) left.push(undone ? "send and guesses" : "guesses");
      if (idempotency !== undefined && !(await limits.releaseIdempotency(scope, idempotency.key, idempotency.fingerprint, work).then(() => true, () => false))) {
        left.push("idempotency lease");
      }
      if (left.length > 0) this.deps.logger.warn({ left, channel: request.channel }, "a failed issue could not be undone; what it left expires by itself");
      throw error;
    }
  }

  /**
   * Checks a code: one atomic step that counts the attempt, compares and consumes. Then, for a
   * public-pool secret, the guess ends or extends its recipient's run of wrong guesses, and a
   * used SMS code counts towards its area's conversion (one more round trip each, only then).
   */
  async redeem(key: string, code: string): Promise<Redemption> {
    const hash = this.hashOf(key, code);
    // The take, the counting of its outcome and the undo a caller may ask for later: one deadline.
    const work = new StoreWork();
    const result = await this.deps.pending.take(key, hash, work);
    if (result.status === "missing") return result;
    const envelope = this.open(key, result.data);
    await this.recordOutcome(envelope, result.status, work);
    const record = envelope.r;
    switch (result.status) {
      case "consumed": {
        // The successful guess is given back with the rest: the secret had one more left before it.
        const secret = { hash, maxAttempts: result.maxAttempts - result.attempts + 1, data: result.data };
        // Its end stays where it was: the time the caller spent before undoing is not given back.
        const endsAt = this.now() + result.ttlMs;
        const undo = async () => {
          const ttlMs = endsAt - this.now();
          return ttlMs > 0 && (await this.deps.pending.put(key, secret, ttlMs, { ifAbsent: true }, work));
        };
        return { status: "redeemed", attempts: result.attempts, record, undo };
      }
      case "mismatch":
        return { status: "wrong", attempts: result.attempts, attemptsLeft: result.attemptsLeft, record };
      case "locked":
        return { status: "locked", attempts: result.attempts, record };
    }
  }

  /** A pending secret's state, without counting an attempt. */
  async peek(key: string): Promise<PendingSecret | null> {
    const state = await this.deps.pending.peek(key);
    if (state === null) return null;
    return {
      attempts: state.attempts,
      maxAttempts: state.maxAttempts,
      record: this.open(key, state.data).r,
      expireAt: new Date(this.now() + state.ttlMs),
    };
  }

  /** Ends a secret before its time (and its message, if not sent yet); true if there was one. */
  revoke(key: string): Promise<boolean> {
    return this.deps.pending.revoke(key);
  }

  private hashOf(key: string, code: string): string {
    return this.deps.codeHash(`${key}:${code}`);
  }

  private open(key: string, data: string): Envelope {
    const opened = this.deps.box.open(data, recordContext(key));
    try {
      const parsed = JSON.parse(opened) as Partial<Envelope>;
      if (typeof parsed.r === "string" && typeof parsed.s === "string") return parsed as Envelope;
    } catch {
      // a record sealed before envelopes: its own JSON, or not JSON at all
    }
    return { r: opened, s: "" };
  }

  /** A failure to count is logged, not answered: the guess itself was counted and compared. */
  private async recordOutcome(envelope: Envelope, status: "consumed" | "mismatch" | "locked", work: StoreWork): Promise<void> {
    const { limits, logger } = this.deps;
    const counts: Promise<void>[] = [];
    // A locked secret compared nothing: not a guess.
    if (envelope.g !== undefined && status !== "locked") counts.push(limits.recordGuess(envelope.s, status === "consumed" ? "right" : "wrong", envelope.g, work));
    if (envelope.t !== undefined && status === "consumed") counts.push(limits.recordConversion(envelope.t, work));
    if (counts.length === 0) return;
    await Promise.all(counts).catch((error: unknown) => logger.warn({ err: error }, "could not count a guess's outcome"));
  }

  /** The error a refused admission answers, reported for operators first. */
  private refusal(decision: Exclude<SendDecision, { status: "admitted" | "replay" }>, channel: string, traffic: TrafficRequest | undefined): Error {
    const country = traffic?.area?.country;
    const report = (rule: string, retryAfterMs: number) => this.report({ rule, channel, ...(country === undefined ? {} : { country }), retryAfterMs });
    switch (decision.status) {
      case "in_progress":
        return new IdempotentRequestInProgress();
      case "conflict":
        return new IdempotencyKeyReused();
      case "send_limit":
      case "too_soon":
      case "guess_budget":
      case "guess_streak": {
        const refused = new SendRefused(sendRefusals[decision.status], decision.retryAfterMs);
        report(refusalRules[refused.reason], decision.retryAfterMs);
        return refused;
      }
      case "traffic":
        report(decision.rule, decision.retryAfterMs);
        return new TrafficRefused(decision.rule, channel, country, decision.retryAfterMs);
    }
  }

  private report(refusal: Parameters<SendRefusals["refused"]>[0]): void {
    (this.deps.refusals ?? unobservedRefusals).refused(refusal);
  }

  private async rememberAnswer(scope: string, idempotency: { key: string; fingerprint: string; ttlMs: number }, answer: string, work: StoreWork): Promise<void> {
    // Sealed: an answer may carry what only the caller may see (a TOTP enrolment URI).
    const sealed = this.deps.box.seal(answer, answerContext(scope, idempotency.key));
    try {
      await this.deps.limits.completeIdempotency(scope, idempotency.key, idempotency.fingerprint, sealed, idempotency.ttlMs, work);
    } catch (error) {
      // The secret is out and must not be sent twice: answer, and let a retry see "in progress".
      this.deps.logger.warn({ err: error }, "could not store the idempotent answer");
    }
  }
}

const idempotencyTtlMs = 5 * 60_000;

const sendRefusals = {
  send_limit: "SEND_LIMIT_REACHED",
  too_soon: "RESEND_TOO_SOON",
  guess_budget: "GUESS_BUDGET_EXHAUSTED",
  guess_streak: "TOO_MANY_FAILED_GUESSES",
} as const;

/**
 * What is sealed beside a code: the caller's record and what redeeming must report to the send
 * limits (the scope, and for a public-pool secret its run's window, for an SMS its traffic), so
 * no lookup is needed to count a guess. Short names: it is stored with every pending secret.
 */
interface Envelope {
  /** The caller's record. */
  readonly r: string;
  /** The recipient's scope in its pool. */
  readonly s: string;
  /** The window of the scope's run of wrong guesses, when the pool has a ceiling on it. */
  readonly g?: number;
  /** The traffic the send was charged to, when its conversion is watched. */
  readonly t?: TrafficRequest;
}

function answerContext(scope: string, idempotencyKey: string): string {
  return `idempotency:${scope}:${idempotencyKey}`;
}

/** A record opens only under its own key, so one secret's record cannot be passed off as another's. */
function recordContext(key: string): string {
  return `secret:${key}`;
}
