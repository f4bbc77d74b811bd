import { randomBytes, randomUUID } from "node:crypto";
import type { JsonObject } from "@bufbuild/protobuf";
import type { TemplateRenderer } from "../../channels/templates/index.js";
import type { KeyedHash } from "../../crypto/keyedHash.js";
import type { SecretBox } from "../../crypto/secretBox.js";
import type { Delivery } from "../../delivery/delivery.js";
import { InvalidArgument } from "../../errors/domainError.js";
import type { Logger } from "../../observability/logger.js";
import type { Actor } from "../actor.js";
import type { SendLimits } from "../secrets/sendLimits.js";
import type { PendingSecrets } from "../secrets/pendingSecrets.js";
import { checkTotp, newTotpSecret, totpUri } from "../totp/totp.js";
import type { TotpSecretStore } from "../totp/totpSecretStore.js";
import { generateCode, type CodeSpec } from "./codeGenerator.js";
import { decodeStored, encodeStored, verificationKey, type Verification, type VerificationMethod } from "./verification.js";
import {
  IdempotencyKeyReused,
  IdempotentRequestInProgress,
  SendRefused,
  TotpNotEnrolled,
  VerificationIdTaken,
  VerificationLocked,
  VerificationNotFound,
  WrongCode,
} from "./verificationErrors.js";
import { checkCallerTemplate, verificationEmail, verificationSms, type CallerTemplate } from "./verificationMessage.js";

/** The server's rules for verifications (from config). */
export interface VerificationRules {
  readonly defaultTtlMs: number;
  readonly maxTtlMs: number;
  readonly defaultMaxAttempts: number;
  readonly sends: { readonly limit: number; readonly windowMs: number; readonly firstResendDelayMs: number; readonly maxResendDelayMs: number };
  readonly guesses: { readonly limit: number; readonly windowMs: number };
  /** Largest payload, as JSON bytes. */
  readonly maxPayloadBytes: number;
  /** Issuer shown in authenticator apps when the caller gives none. */
  readonly defaultIssuer: string;
}

export interface InitiateInput {
  readonly method: VerificationMethod;
  /** Already normalised by the caller's layer (E.164 phone, checked email). */
  readonly consumer: string;
  readonly issuer?: string;
  readonly template?: CallerTemplate;
  readonly code?: CodeSpec;
  readonly ttlMs?: number;
  readonly forcedId?: string;
  readonly forcedCode?: string;
  readonly maxAttempts?: number;
  readonly payload?: JsonObject;
  readonly locale?: string;
  readonly idempotency?: { readonly key: string; readonly fingerprint: string };
  /** Whether the caller may force a code (service and admin principals). */
  readonly mayForceCode: boolean;
}

export interface Initiated {
  readonly verification: Verification;
  /** TOTP enrolment only. */
  readonly totpUri?: string;
}

export interface VerificationDependencies {
  readonly secrets: PendingSecrets;
  readonly admission: SendLimits;
  readonly totpSecrets: TotpSecretStore;
  readonly box: SecretBox;
  /** Keyed hash of `verificationId:code`. */
  readonly codeHash: KeyedHash;
  /** Keyed hash of a consumer, naming its send limits. */
  readonly consumerScope: KeyedHash;
  readonly delivery: Delivery;
  readonly templates: TemplateRenderer;
  readonly rules: VerificationRules;
  readonly logger: Logger;
  readonly now?: () => number;
}

/**
 * Verifications (seed 002), transport-free. The hot paths are short: validating a code is one
 * atomic step in the pending secrets (count the attempt, compare in constant time, consume);
 * starting one is an admission step (limits, guess budget, idempotency) and one write that stores
 * the code with its message.
 */
export class Verifications {
  private readonly now: () => number;

  constructor(private readonly deps: VerificationDependencies) {
    this.now = deps.now ?? Date.now;
  }

  async initiate(input: InitiateInput): Promise<Initiated> {
    const { rules } = this.deps;
    const ttlMs = input.ttlMs ?? rules.defaultTtlMs;
    if (ttlMs < 1_000) throw InvalidArgument.field("policy.time_to_live", "gte", "must be at least 1 s");
    if (ttlMs > rules.maxTtlMs) {
      throw InvalidArgument.field("policy.time_to_live", "lte", `must be at most ${Math.floor(rules.maxTtlMs / 1000)} s`);
    }
    if (input.payload !== undefined && Buffer.byteLength(JSON.stringify(input.payload)) > rules.maxPayloadBytes) {
      throw InvalidArgument.field("payload", "max_bytes", `must be at most ${rules.maxPayloadBytes} bytes as JSON`);
    }
    if (input.forcedCode !== undefined) {
      if (input.method === "totp") throw InvalidArgument.field("policy.forced_code", "totp", "does not apply to TOTP");
      if (!input.mayForceCode) throw InvalidArgument.field("policy.forced_code", "principal", "may only be set by service and admin callers");
    }
    if (input.method !== "totp") checkCallerTemplate(input.template, input.method);
    // Checked before anything is charged, so a refused request costs the consumer nothing.
    const code = input.method === "totp" ? undefined : (input.forcedCode ?? generateCode(input.code));
    if (input.method !== "totp") this.deps.delivery.requireChannel(input.method === "email" ? "email" : "sms");

    // Mailbox local parts are case-insensitive in practice: Bob@ and BOB@ share one set of limits.
    const scope = this.deps.consumerScope(input.method === "email" ? input.consumer.toLowerCase() : input.consumer);
    const maxAttempts = input.maxAttempts ?? rules.defaultMaxAttempts;
    // The idempotency record is a lease: long enough for a client's retries, short enough that a
    // crash between admission and answer does not block the key for the code's whole life.
    const idempotency = input.idempotency === undefined ? undefined : { ...input.idempotency, ttlMs: Math.min(ttlMs, idempotencyTtlMs) };
    const admission = await this.deps.admission.admit({
      scope,
      bucket: input.method,
      ...(idempotency === undefined ? {} : { idempotency }),
      // TOTP sends nothing, so it has no resend wait; its starts still count against the limit.
      sends: input.method === "totp" ? { ...rules.sends, firstResendDelayMs: 0, maxResendDelayMs: 0 } : rules.sends,
      guesses: { ...rules.guesses, reserve: maxAttempts },
    });
    switch (admission.status) {
      case "replay":
        return decodeAnswer(this.deps.box.open(admission.answer, answerContext(scope, idempotency!.key)));
      case "in_progress":
        throw new IdempotentRequestInProgress();
      case "conflict":
        throw new IdempotencyKeyReused();
      case "send_limit":
        throw new SendRefused("SEND_LIMIT_REACHED", admission.retryAfterMs);
      case "too_soon":
        throw new SendRefused("RESEND_TOO_SOON", admission.retryAfterMs);
      case "guess_budget":
        throw new SendRefused("GUESS_BUDGET_EXHAUSTED", admission.retryAfterMs);
      case "admitted":
        break;
    }

    const now = this.now();
    const id = input.forcedId ?? randomUUID();
    const verification: Verification = {
      id,
      method: input.method,
      consumer: input.consumer,
      expireAt: new Date(now + ttlMs),
      attempts: 0,
      maxAttempts: admission.reservedGuesses,
      ...(input.payload === undefined ? {} : { payload: input.payload }),
      nextResendAt: new Date(now + admission.nextSendInMs),
      resendCount: admission.sendNumber - 1,
    };
    try {
      if (input.forcedCode !== undefined) this.deps.logger.info({ verificationId: id, method: input.method }, "verification started with a forced code");
      const initiated =
        code === undefined ? await this.startTotp(verification, input.issuer, ttlMs) : await this.startCode(verification, code, input, ttlMs);
      if (idempotency !== undefined) await this.rememberAnswer(scope, idempotency, initiated);
      return initiated;
    } catch (error) {
      // Nothing was started: give back what admission reserved, and let a retry run again.
      await this.deps.admission.refundGuesses(scope, admission.reservedGuesses).catch(() => undefined);
      if (idempotency !== undefined) {
        await this.deps.admission.releaseIdempotency(scope, idempotency.key, idempotency.fingerprint).catch(() => undefined);
      }
      throw error;
    }
  }

  private async rememberAnswer(scope: string, idempotency: { key: string; fingerprint: string; ttlMs: number }, initiated: Initiated): Promise<void> {
    // Sealed: a TOTP answer carries the enrolment secret inside its URI.
    const answer = this.deps.box.seal(encodeAnswer(initiated), answerContext(scope, idempotency.key));
    try {
      await this.deps.admission.completeIdempotency(scope, idempotency.key, idempotency.fingerprint, answer, idempotency.ttlMs);
    } catch (error) {
      // The code is out and must not be sent twice: answer, and let a retry see "in progress".
      this.deps.logger.warn({ err: error, verificationId: initiated.verification.id }, "could not store the idempotent answer");
    }
  }

  /** Checks a code; a correct one completes the verification, once. `actor` is audited when it changes a TOTP secret. */
  async validate(id: string, code: string, options: { removeSecret?: boolean; actor: Actor }): Promise<Verification> {
    const key = verificationKey(id);
    const result = await this.deps.secrets.take(key, this.deps.codeHash(`${id}:${code}`));
    switch (result.status) {
      case "missing":
        throw new VerificationNotFound();
      case "locked":
        throw new VerificationLocked();
      case "consumed":
        return decodeStored(id, result.data, result.attempts);
      case "mismatch": {
        const verification = decodeStored(id, result.data, result.attempts);
        // A TOTP verification stores no code, so its take always "mismatches": the attempt is
        // counted all the same, and the code is checked against the consumer's secret.
        if (verification.method !== "totp") throw new WrongCode(result.attemptsLeft);
        return this.validateTotp(verification, code, result.attemptsLeft, options.removeSecret === true, options.actor);
      }
    }
  }

  async get(id: string): Promise<Verification> {
    const state = await this.deps.secrets.peek(verificationKey(id));
    if (state === null) throw new VerificationNotFound();
    return decodeStored(id, state.data, state.attempts);
  }

  async invalidate(id: string): Promise<void> {
    if (!(await this.deps.secrets.revoke(verificationKey(id)))) throw new VerificationNotFound();
  }

  private async startCode(verification: Verification, code: string, input: InitiateInput, ttlMs: number): Promise<Initiated> {
    const { secrets, delivery, templates } = this.deps;
    const key = verificationKey(verification.id);
    const facts = {
      code,
      verificationId: verification.id,
      expiresInMinutes: Math.max(1, Math.round(ttlMs / 60_000)),
      ...(input.locale === undefined ? {} : { locale: input.locale }),
    };
    const message =
      verification.method === "email"
        ? verificationEmail(verification.consumer, input.template, facts, templates)
        : verificationSms(verification.consumer, input.template, facts, templates);
    // The code and its message are stored in one step, so neither outlives the other.
    const stored = await secrets.put(
      key,
      { hash: this.deps.codeHash(`${verification.id}:${code}`), maxAttempts: verification.maxAttempts, data: encodeStored(verification) },
      ttlMs,
      { ifAbsent: true, message: delivery.seal(message, { template: "verification", reference: verification.id }) },
    );
    if (!stored) throw new VerificationIdTaken();
    return { verification };
  }

  private async startTotp(verification: Verification, issuer: string | undefined, ttlMs: number): Promise<Initiated> {
    const { secrets, totpSecrets, box } = this.deps;
    const consumer = verification.consumer;
    const key = verificationKey(verification.id);
    // The record first: if its id is taken, the consumer's pending secret must stay as it was.
    // No code to hash: a random one that nothing can match keeps the record's shape.
    const stored = await secrets.put(
      key,
      { hash: randomBytes(32).toString("base64url"), maxAttempts: verification.maxAttempts, data: encodeStored(verification) },
      ttlMs,
      { ifAbsent: true },
    );
    if (!stored) throw new VerificationIdTaken();
    try {
      // Until one code has been validated the secret is temporary: each start replaces it, so a
      // user who lost the QR code simply starts again. An active secret is left as it is, by
      // enrol itself, so no read is needed first.
      const secret = newTotpSecret();
      const enrolled = await totpSecrets.enrol(consumer, box.seal(secret, totpContext(consumer)), box.activeKeyId);
      if (enrolled.outcome === "already_active") return { verification };
      const label = issuer === undefined || issuer === "" ? this.deps.rules.defaultIssuer : issuer;
      return { verification, totpUri: totpUri({ issuer: label, label: consumer, secret }) };
    } catch (error) {
      await secrets.revoke(key).catch(() => undefined);
      throw error;
    }
  }

  private async validateTotp(verification: Verification, code: string, attemptsLeft: number, removeSecret: boolean, actor: Actor): Promise<Verification> {
    const { totpSecrets, box, secrets } = this.deps;
    const record = await totpSecrets.find(verification.consumer);
    if (record === null) throw new TotpNotEnrolled();
    const secret = box.open(record.sealedSecret, totpContext(verification.consumer));
    const check = await checkTotp({
      secret,
      code,
      nowMs: this.now(),
      ...(record.lastUsedStep === null ? {} : { afterTimeStep: record.lastUsedStep }),
    });
    if (!check.valid) throw new WrongCode(attemptsLeft);
    // The step is claimed in Postgres, atomically: of two uses of one code, one wins, and a
    // Redis restart cannot reopen a used step.
    const claimed = removeSecret
      ? await totpSecrets.removeAfterUse(verification.consumer, check.timeStep, actor)
      : await totpSecrets.markUsed(verification.consumer, check.timeStep, actor);
    if (!claimed) throw new WrongCode(attemptsLeft);
    const consumed = await secrets.revoke(verificationKey(verification.id));
    if (removeSecret) {
      // The secret is gone whatever happened to the record meanwhile: say so.
      this.deps.logger.info({ verificationId: verification.id }, "authenticator secret removed after a valid code");
      return verification;
    }
    if (!consumed) throw new VerificationNotFound();
    return verification;
  }
}

const idempotencyTtlMs = 5 * 60_000;

function answerContext(scope: string, idempotencyKey: string): string {
  return `idempotency:${scope}:${idempotencyKey}`;
}

function totpContext(consumer: string): string {
  return `totp:${consumer}`;
}

function encodeAnswer(initiated: Initiated): string {
  const { verification } = initiated;
  return JSON.stringify({
    ...verification,
    expireAt: verification.expireAt.getTime(),
    nextResendAt: verification.nextResendAt.getTime(),
    ...(initiated.totpUri === undefined ? {} : { totpUri: initiated.totpUri }),
  });
}

function decodeAnswer(answer: string): Initiated {
  const { totpUri, expireAt, nextResendAt, ...rest } = JSON.parse(answer) as Omit<Verification, "expireAt" | "nextResendAt"> & {
    expireAt: number;
    nextResendAt: number;
    totpUri?: string;
  };
  return {
    verification: { ...rest, expireAt: new Date(expireAt), nextResendAt: new Date(nextResendAt) },
    ...(totpUri === undefined ? {} : { totpUri }),
  };
}
