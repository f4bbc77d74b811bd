import { randomUUID } from "node:crypto";
import type { TemplateRenderer } from "../messages/messageTemplates.js";
import type { SecretBox } from "../../crypto/secretBox.js";
import type { MessageSealer } from "../messages/messageDelivery.js";
import { InvalidArgument } from "../../errors/domainError.js";
import type { Logger } from "../logger.js";
import type { Actor } from "../actor.js";
import { generateCode, type CodeSpec } from "../secrets/codeGenerator.js";
import type { Grant, OneTimeSecrets } from "../secrets/oneTimeSecrets.js";
import { requestFingerprint } from "../secrets/requestFingerprint.js";
import type { GuessBudget, SendLimit } from "../secrets/sendLimits.js";
import { checkTotp, newTotpSecret, totpUri } from "../totp/totp.js";
import type { TotpSecretStore } from "../totp/totpSecretStore.js";
import { limitsKeyOf, normaliseConsumer } from "./consumer.js";
import { decodeStored, encodeStored, verificationKey, type JsonObject, type Verification, type VerificationMethod } from "./verification.js";
import { TotpNotEnrolled, VerificationIdTaken, VerificationLocked, VerificationNotFound, WrongCode } from "./verificationErrors.js";
import type { VerificationEvents } from "./verificationEvents.js";
import { checkCallerTemplate, verificationEmail, verificationSms, type CallerTemplate } from "./verificationMessage.js";
import { expiresInMinutes } from "../expiresInMinutes.js";
import { jsonReplay, type Replay } from "../secrets/replay.js";

/** The server's rules for verifications (from config). */
export interface VerificationRules {
  readonly defaultTtlMs: number;
  readonly maxTtlMs: number;
  readonly defaultMaxAttempts: number;
  readonly sends: SendLimit;
  /** The account pool's guesses per consumer (shared with TokenService's account OTTs). */
  readonly guesses: Omit<GuessBudget, "reserve">;
  /** Largest payload, as JSON bytes. */
  readonly maxPayloadBytes: number;
  /** Issuer shown in authenticator apps when the caller gives none. */
  readonly defaultIssuer: string;
}

/** A request to start a verification, as the caller sent it (the consumer not yet normalised). */
export interface InitiateInput {
  readonly method: VerificationMethod;
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
  /** A retry with the same key and the same request gets the first answer, and nothing is sent again. */
  readonly idempotencyKey?: string;
}

export interface Initiated {
  readonly verification: Verification;
  /** TOTP enrolment only. */
  readonly totpUri?: string;
}

export interface VerificationDependencies {
  readonly secrets: OneTimeSecrets;
  readonly totpSecrets: TotpSecretStore;
  /** Seals authenticator secrets. */
  readonly box: SecretBox;
  readonly delivery: MessageSealer;
  readonly templates: TemplateRenderer;
  readonly rules: VerificationRules;
  readonly events: VerificationEvents;
  readonly logger: Logger;
  readonly now?: () => number;
}

/**
 * Verifications (seed 002): what a verification is and who may shape it. The life of its code
 * (limits, storage, delivery, redemption) is the secrets module's; TOTP codes are checked here
 * against the consumer's authenticator secret.
 */
export class Verifications {
  private readonly now: () => number;

  constructor(private readonly deps: VerificationDependencies) {
    this.now = deps.now ?? Date.now;
  }

  async initiate(input: InitiateInput, actor: Actor): Promise<Initiated> {
    const { rules } = this.deps;
    const ttlMs = input.ttlMs ?? rules.defaultTtlMs;
    if (ttlMs < 1_000) throw InvalidArgument.field("policy.time_to_live", "gte", "must be at least 1 s");
    if (ttlMs > rules.maxTtlMs) {
      throw InvalidArgument.field("policy.time_to_live", "lte", `must be at most ${Math.floor(rules.maxTtlMs / 1000)} s`);
    }
    if (input.payload !== undefined && Buffer.byteLength(JSON.stringify(input.payload)) > rules.maxPayloadBytes) {
      throw InvalidArgument.field("payload", "max_bytes", `must be at most ${rules.maxPayloadBytes} bytes as JSON`);
    }
    const method = input.method;
    if (input.forcedCode !== undefined) {
      if (method === "totp") throw InvalidArgument.field("policy.forced_code", "totp", "does not apply to TOTP");
      // A forced code is known to the caller, so only a backend may set one, never an end user.
      if (actor.kind !== "service" && actor.kind !== "admin") {
        throw InvalidArgument.field("policy.forced_code", "principal", "may only be set by service and admin callers");
      }
    }
    if (method !== "totp") checkCallerTemplate(input.template, method);
    const consumer = normaliseConsumer(method, input.consumer);
    // The destination policy first: a refused number costs nothing and is refused for everyone.
    if (method === "phone") this.deps.secrets.checkDestination("sms", consumer);
    // Checked before anything is charged, so a refused request costs the consumer nothing.
    const code = method === "totp" ? undefined : (input.forcedCode ?? generateCode(input.code));
    if (method !== "totp") this.deps.delivery.requireChannel(method === "email" ? "email" : "sms");

    const id = input.forcedId ?? randomUUID();
    const verificationOf = (grant: Grant): Verification => ({
      id,
      method,
      consumer,
      expireAt: grant.expireAt,
      attempts: 0,
      maxAttempts: grant.maxAttempts,
      ...(input.payload === undefined ? {} : { payload: input.payload }),
      nextResendAt: grant.nextSendAt,
      resendCount: grant.sendNumber - 1,
    });
    if (input.forcedCode !== undefined) this.deps.logger.info({ verificationId: id, method }, "verification started with a forced code");
    const { idempotencyKey, ...request } = input;
    return this.deps.secrets.issue<Initiated>({
      key: verificationKey(id),
      recipient: limitsKeyOf(method, consumer),
      channel: method,
      ...(method === "totp" ? {} : { medium: method === "email" ? ("email" as const) : ("sms" as const) }),
      // A backend starts every verification on a consumer's behalf.
      pool: "account",
      ttlMs,
      maxAttempts: input.maxAttempts ?? rules.defaultMaxAttempts,
      // TOTP sends nothing, so it has no resend wait; its starts still count against the limit.
      sends: method === "totp" ? { ...rules.sends, firstResendDelayMs: 0, maxResendDelayMs: 0 } : rules.sends,
      guesses: rules.guesses,
      ...(idempotencyKey === undefined ? {} : { idempotency: { key: idempotencyKey, fingerprint: requestFingerprint(request, actor) } }),
      whenTaken: () => new VerificationIdTaken(),
      ...(code === undefined ? {} : { code }),
      record: (grant) => encodeStored(verificationOf(grant)),
      ...(code === undefined
        ? {}
        : { message: (grant: Grant) => ({ message: this.message(verificationOf(grant), code, input, ttlMs), template: "verification", reference: id }) }),
      answer: async (grant) => {
        const initiated = code === undefined ? await this.enrolTotp(verificationOf(grant), input.issuer) : { verification: verificationOf(grant) };
        // Here rather than after issue(): an idempotent replay is not a new start.
        this.deps.events.record("initiated", { verificationId: id, method });
        return initiated;
      },
      replay: initiatedReplay,
    });
  }

  /** Checks a code; a correct one completes the verification, once. */
  async validate(id: string, code: string, options: { readonly removeSecret?: boolean; readonly actor: Actor }): Promise<Verification> {
    const { events } = this.deps;
    const redemption = await this.deps.secrets.redeem(verificationKey(id), code);
    if (redemption.status === "missing") {
      events.record("not_found", { verificationId: id });
      throw new VerificationNotFound();
    }
    const verification = decodeStored(id, redemption.record, redemption.attempts);
    const facts = { verificationId: id, method: verification.method };
    try {
      switch (redemption.status) {
        case "locked":
          throw new VerificationLocked();
        case "redeemed":
          break;
        case "wrong":
          // A TOTP verification keeps no code, so its redemption always misses: the attempt is
          // counted all the same, and the code is checked against the consumer's secret.
          if (verification.method !== "totp") throw new WrongCode(redemption.attemptsLeft);
          await this.validateTotp(verification, code, redemption.attemptsLeft, options.removeSecret === true, options.actor);
          break;
      }
    } catch (error) {
      if (error instanceof WrongCode) events.record("wrong_code", facts);
      else if (error instanceof VerificationLocked) events.record("locked", facts);
      throw error;
    }
    events.record("validated", facts);
    return verification;
  }

  async get(id: string): Promise<Verification> {
    const pending = await this.deps.secrets.peek(verificationKey(id));
    if (pending === null) throw new VerificationNotFound();
    return decodeStored(id, pending.record, pending.attempts);
  }

  async invalidate(id: string): Promise<void> {
    if (!(await this.deps.secrets.revoke(verificationKey(id)))) throw new VerificationNotFound();
  }

  private message(verification: Verification, code: string, input: InitiateInput, ttlMs: number) {
    const facts = {
      code,
      verificationId: verification.id,
      expiresInMinutes: expiresInMinutes(ttlMs),
      ...(input.locale === undefined ? {} : { locale: input.locale }),
    };
    return verification.method === "email"
      ? verificationEmail(verification.consumer, input.template, facts, this.deps.templates)
      : verificationSms(verification.consumer, input.template, facts, this.deps.templates);
  }

  private async enrolTotp(verification: Verification, issuer: string | undefined): Promise<Initiated> {
    const { totpSecrets, box } = this.deps;
    const consumer = verification.consumer;
    // Until one code has been validated the secret is temporary: each start replaces it, so a user
    // who lost the QR code simply starts again. An active secret is left as it is, by enrol itself,
    // so no read is needed first.
    const secret = newTotpSecret();
    const enrolled = await totpSecrets.enrol(consumer, box.seal(secret, totpContext(consumer)), box.activeKeyId);
    if (enrolled.outcome === "already_active") return { verification };
    const label = issuer === undefined || issuer === "" ? this.deps.rules.defaultIssuer : issuer;
    return { verification, totpUri: totpUri({ issuer: label, label: consumer, secret }) };
  }

  private async validateTotp(verification: Verification, code: string, attemptsLeft: number, removeSecret: boolean, actor: Actor): Promise<void> {
    const { totpSecrets, box } = this.deps;
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
    // Postgres has committed the step (and the audit row): that is the answer. A verification left
    // in Redis by a failed revoke can never reuse this step, and expires on its own.
    const consumed = await this.deps.secrets.revoke(verificationKey(verification.id)).catch((error: unknown) => {
      this.deps.logger.warn({ err: error, verificationId: verification.id }, "could not end a TOTP verification after a valid code");
      return true;
    });
    if (removeSecret) {
      // The secret is gone whatever happened to the record meanwhile: say so.
      this.deps.logger.info({ verificationId: verification.id }, "authenticator secret removed after a valid code");
      return;
    }
    if (!consumed) throw new VerificationNotFound();
  }
}

function totpContext(consumer: string): string {
  return `totp:${consumer}`;
}

/** Kept flat, the verification's fields beside the enrolment URI, as earlier versions kept it. */
const flatReplay = jsonReplay<Verification & { readonly totpUri?: string }>(["expireAt", "nextResendAt"]);
const initiatedReplay: Replay<Initiated> = {
  encode: ({ verification, totpUri }) => flatReplay.encode({ ...verification, ...(totpUri === undefined ? {} : { totpUri }) }),
  decode(encoded) {
    const { totpUri, ...verification } = flatReplay.decode(encoded);
    return { verification, ...(totpUri === undefined ? {} : { totpUri }) };
  },
};
