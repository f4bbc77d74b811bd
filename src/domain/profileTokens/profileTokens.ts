import type { OutboundMessage } from "../messages/outboundMessage.js";
import type { TemplateRenderer } from "../messages/messageTemplates.js";
import type { MessageSealer } from "../messages/messageDelivery.js";
import { InvalidArgument, Unauthenticated } from "../../errors/domainError.js";
import type { KeyedHash } from "../../crypto/keyedHash.js";
import type { Logger } from "../logger.js";
import type { Actor } from "../actor.js";
import { CaptchaFailed, CaptchaNotConfigured, CaptchaRequired, type CaptchaVerifier } from "../captcha.js";
import type { ClientLimits } from "../clientLimits.js";
import { generateCode } from "../secrets/codeGenerator.js";
import type { Grant, GuessPool, OneTimeSecrets, Redemption } from "../secrets/oneTimeSecrets.js";
import { limitsKeyOf } from "../verification/consumer.js";
import { actingUser } from "./actingUser.js";
import { announceFactorChange } from "./factorChangeNotices.js";
import { maskDestination } from "./masking.js";
import { FACTOR_CHANGE_REPORT, factorChangeReport, operations, type OperationSpec, type Plan, type RequestInput, type Target, type TokenOperation } from "./operations.js";
import { FactorChangesLocked, OperationDisabled, operationNotAllowed, ProfileChanged, ProfileNotFound, TokenLocked, TokenNotFound, WrongToken } from "./profileTokenErrors.js";
import { keyOf, type SecurityProfile, type SecurityProfileStore, type UserKey, type UserKeyType } from "./securityProfile.js";
import { decodeRecord, encodeRecord, tokenKey, type TokenRecord } from "./tokenRecord.js";
import type { TokenRules } from "./tokenRules.js";
import { expiresInMinutes } from "../expiresInMinutes.js";
import { jsonReplay } from "../secrets/replay.js";

export interface ProfileTokenDependencies {
  readonly secrets: OneTimeSecrets;
  readonly profiles: SecurityProfileStore;
  readonly delivery: MessageSealer;
  readonly templates: TemplateRenderer;
  readonly rules: TokenRules;
  /** Per-caller limit of OTT requests (rules.client): public callers by address, users by id; services pass free. */
  readonly clientLimits: ClientLimits;
  /** Asks public callers for a CAPTCHA answer when rules.publicCaptcha is on. */
  readonly captcha?: CaptchaVerifier;
  /** Names "this wasn't me" report tokens in storage (see factorChangeNotices.ts). */
  readonly reportHash: KeyedHash;
  readonly logger: Logger;
}

/** Where an OTT went and how long it works: the same shape whether or not anything was sent. */
export interface IssuedToken {
  /** Masked unless the rules say otherwise. */
  readonly destination: string;
  readonly destinationType: UserKeyType;
  readonly expireAt: Date;
  readonly expiresInMs: number;
  readonly nextResendAt: Date;
}

export interface ConsumeInput {
  readonly operation: TokenOperation;
  readonly token: string;
  readonly processingId?: string;
  readonly userId?: string;
  readonly antiPhishingCode?: string;
}

export interface Consumed {
  readonly operation: TokenOperation | typeof FACTOR_CHANGE_REPORT;
  readonly userId?: string;
  /** Registration: the key just verified. Password recovery: the key the OTT went to. */
  readonly verifiedKey?: UserKey;
  /** The profile after the effect, for operations that change it. */
  readonly profile?: SecurityProfile;
}

export { FACTOR_CHANGE_REPORT } from "./operations.js";

type Subject = { readonly userId: string; readonly processingId?: undefined } | { readonly processingId: string; readonly userId?: undefined };

/**
 * One-time tokens for operations on a user's security profile (seeds 000/001). Every operation
 * runs the same pipeline, driven by its row in `operations`: check the caller, prove step 1 (step
 * 2 only), read the profile once, plan where the OTT goes, then issue it through the secrets core
 * (send limits, HMAC, sealed record and message in one store step). Consuming redeems the OTT
 * once and applies the operation's effect in one statement with its audit row.
 */
export class ProfileTokens {
  constructor(private readonly deps: ProfileTokenDependencies) {}

  async request(operation: TokenOperation, input: RequestInput, actor: Actor): Promise<IssuedToken> {
    const spec = operations[operation];
    this.admit(operation, spec, actor);
    // A number the policy refuses is refused before anything is charged or looked up, so the
    // answer is the same whoever owns it.
    if (input.key?.type === "phone") this.deps.secrets.checkDestination("sms", input.key.value);
    // Charged before anything is looked up, so an address pays the same whether the destination
    // is known or not (no enumeration), and before the per-destination limits, which one
    // address could otherwise get around by naming a new destination each time.
    await this.deps.clientLimits.admit(actor);
    const subject = this.subjectOf(spec, input, actor);
    // After the cheap checks, so a caller over its limit cannot spend the provider's quota, and
    // before anything is looked up, so the answer is the same whether the destination is known.
    await this.passCaptcha(input.captchaResponse, actor);
    if (spec.proves === undefined) return this.issue(operation, spec, subject, input);
    const proof = await this.prove(spec.proves, subject, input);
    try {
      return await this.issue(operation, spec, subject, input, proof.target);
    } catch (error) {
      // A step 2 that failed (a send limit, a store that did not answer) leaves the step-1 OTT
      // as it was, so the user retries step 2 rather than starting over.
      await proof
        .undo()
        .catch((undoError: unknown) => this.deps.logger.warn({ err: undoError, requestId: actor.requestId, operation }, "a failed step 2 could not put its step-1 OTT back"));
      throw error;
    }
  }

  /** Reads the profile once, plans where the OTT goes, and issues it. */
  private async issue(operation: TokenOperation, spec: OperationSpec, subject: Subject, input: RequestInput, step1?: Target): Promise<IssuedToken> {
    const found = await this.deps.profiles.lookup({
      ...(spec.reads.user && subject.userId !== undefined ? { userId: subject.userId } : {}),
      ...(spec.reads.key && input.key !== undefined ? { key: input.key } : {}),
    });
    // A profile whose owner reported a factor change accepts none until a backend unlocks it.
    if (spec.factorChange !== undefined && found.profile?.factorChangesLock !== undefined) throw new FactorChangesLocked();
    const plan = spec.plan({ input, profile: found.profile, keyOwner: found.keyOwner, ...(step1 === undefined ? {} : { step1 }) });
    const channel = plan.destination.type === "email" ? "email" : "sms";
    this.deps.delivery.requireChannel(channel);
    const { rules } = this.deps;
    const ttlMs = rules.ttlMs[operation];
    const ott = generateCode(rules.codes[channel]);
    const userId = plan.userId ?? subject.userId;
    const pool = poolOf(spec, plan, found.profile);
    const record: TokenRecord = {
      operation,
      ...(userId === undefined ? {} : { userId }),
      destination: plan.destination,
      ...(plan.target === undefined ? {} : { target: plan.target }),
      ...(spec.factorChange === undefined || input.locale === undefined ? {} : { locale: input.locale }),
    };
    // Rendered whether or not it goes out, so an answer that sends nothing costs about the same.
    const message = this.message(plan, ott, ttlMs, found.profile, input.locale);
    const shown = plan.shown ?? plan.destination;
    const issued = (grant: Grant): IssuedToken => ({
      destination: rules.maskDestinations ? maskDestination(shown) : shown.value,
      destinationType: plan.destination.type,
      expireAt: grant.expireAt,
      expiresInMs: ttlMs,
      nextResendAt: grant.nextSendAt,
    });
    return this.deps.secrets.issue<IssuedToken>({
      key: tokenKey(operation, subject, spec.provenBy !== undefined ? plan.target?.type : undefined),
      recipient: limitsKeyOf(plan.destination.type, plan.destination.value),
      // Resend waits per operation: a password reset does not hold up a key change to the same
      // address. The guess budget is the destination's per pool, across operations (and verifications).
      channel: `token:${operation}`,
      medium: channel,
      pool,
      ttlMs,
      maxAttempts: rules.maxAttempts,
      sends: rules.sends,
      guesses: rules.guesses[pool],
      whenTaken: "replace",
      // Nothing to send: no code either, so no guess can ever match this OTT.
      ...(plan.send ? { code: bound(spec, input.processingId, ott), message: () => ({ message, template: plan.template, reference: operation }) } : {}),
      record: () => encodeRecord(record),
      answer: issued,
      replay: issuedReplay,
    });
  }

  async consume(input: ConsumeInput, actor: Actor): Promise<Consumed> {
    const { operation } = input;
    const spec = operations[operation];
    if (spec.provenBy !== undefined) {
      throw new StepOneOperation();
    }
    this.admit(operation, spec, actor);
    const subject = this.subjectOf(spec, input, actor);
    const required = spec.effect?.kind === "change" ? spec.effect.requires : undefined;
    if (required !== undefined && (input[required.value] ?? "") === "") {
      // Checked before the OTT is redeemed, so a forgotten field does not burn it.
      throw InvalidArgument.field(required.field, "required", required.message);
    }
    const redemption = await this.deps.secrets.redeem(tokenKey(operation, subject), bound(spec, input.processingId, input.token));
    const record = redeemed(redemption, "token");
    const effect = spec.effect;
    const userId = record.userId;
    switch (effect?.kind) {
      case "confirm":
        return { operation, ...(userId === undefined ? {} : { userId }) };
      case "verified_key":
        return { operation, ...(userId === undefined ? {} : { userId }), verifiedKey: record.destination };
      case "change": {
        if (userId === undefined) throw new Error(`${operation} token without a user`);
        const announce =
          spec.factorChange === undefined
            ? undefined
            : announceFactorChange(
                { ...this.deps, reportTtlMs: this.deps.rules.factorReportTtlMs },
                { change: spec.factorChange, target: record.target, confirmedBy: record.destination, locale: record.locale, requestId: actor.requestId },
              );
        const profile = await this.deps.profiles.apply(userId, effect.change(record.target, input), actor, announce);
        if (profile === null) throw await this.refusal(userId, spec);
        return { operation, userId, profile };
      }
      case undefined:
        throw new Error(`${operation} has no effect`);
    }
  }

  /** Why a change the OTT was for no longer applies; only a refusal pays for this read. */
  private async refusal(userId: string, spec: OperationSpec): Promise<Error> {
    if (spec.factorChange === undefined) return new ProfileChanged();
    const { profile } = await this.deps.profiles.lookup({ userId });
    return profile?.factorChangesLock !== undefined ? new FactorChangesLocked() : new ProfileChanged();
  }

  /**
   * "This wasn't me": spends a report token a factor change sent and locks the profile's factor
   * changes. The token alone is the proof (like a password recovery OTT); `userId`, when given,
   * must be the token's user.
   */
  async report(input: { readonly token: string; readonly userId?: string }, actor: Actor): Promise<Consumed> {
    this.admitCaller(factorChangeReport.callers, actor);
    const profile = await this.deps.profiles.lockFactorChanges(this.deps.reportHash(input.token), input.userId, actor);
    if (profile === null) throw new TokenNotFound();
    this.deps.logger.warn({ requestId: actor.requestId, userId: profile.userId, reportedChange: profile.factorChangesLock?.reportedChange }, "a factor change was reported as not the user's: factor changes are locked");
    return { operation: FACTOR_CHANGE_REPORT, userId: profile.userId, profile };
  }

  /** Lifts a report's lock once a backend (support) has settled it; idempotent. */
  async unlockFactorChanges(userId: string, actor: Actor): Promise<SecurityProfile> {
    const profile = await this.deps.profiles.unlockFactorChanges(actingUser(actor, userId), actor);
    if (profile === null) throw new ProfileNotFound();
    return profile;
  }

  /**
   * Step 2: redeems the step-1 OTT (once: a proven step 1 is gone) and returns what it was for,
   * and how to put it back should step 2 fail.
   */
  private async prove(stepOne: TokenOperation, subject: Subject, input: RequestInput): Promise<{ target: Target; undo(): Promise<boolean> }> {
    if (input.step1Token === undefined || input.key === undefined) throw new Error("step 2 without its step-1 token or new key");
    const redemption = await this.deps.secrets.redeem(tokenKey(stepOne, subject, input.key.type), input.step1Token);
    const target = redeemed(redemption, "step1_token").target;
    if (redemption.status !== "redeemed") throw new Error(`${stepOne} token redeemed without being redeemed`);
    if (target === undefined) throw new Error(`${stepOne} token without a target`);
    return { target, undo: redemption.undo };
  }

  private admit(operation: TokenOperation, spec: OperationSpec, actor: Actor): void {
    this.admitCaller(spec.callers, actor);
    // Step 2 goes with its step 1: switching key recovery off switches off both.
    const { disabled } = this.deps.rules;
    if (disabled.has(operation) || (spec.proves !== undefined && disabled.has(spec.proves))) throw new OperationDisabled();
  }

  private admitCaller(callers: readonly Actor["kind"][], actor: Actor): void {
    if (actor.kind === "public" && callers.includes("public") && !this.deps.rules.publicRequests) {
      throw new Unauthenticated("TOKEN_MISSING", "this server takes these requests from backends only: send a bearer token");
    }
    // No credentials for an operation that needs them: the caller must sign in, not give up.
    if (actor.kind === "public" && !callers.includes("public")) {
      throw new Unauthenticated("TOKEN_MISSING", `this operation needs a bearer token (${callers.join(" or ")}): send one`);
    }
    if (!callers.includes(actor.kind)) throw operationNotAllowed();
  }

  /** A public caller's CAPTCHA answer, when the rules ask for one; services and users are never asked. */
  private async passCaptcha(response: string | undefined, actor: Actor): Promise<void> {
    if (!this.deps.rules.publicCaptcha || actor.kind !== "public") return;
    if (response === undefined || response === "") throw new CaptchaRequired("captcha_response");
    if (this.deps.captcha === undefined) throw new CaptchaNotConfigured();
    if (!(await this.deps.captcha.verify(response, actor.clientAddress))) throw new CaptchaFailed();
  }

  private subjectOf(spec: OperationSpec, input: { readonly userId?: string; readonly processingId?: string }, actor: Actor): Subject {
    if (spec.subject === "user") return { userId: actingUser(actor, input.userId) };
    if (input.processingId === undefined || input.processingId === "") {
      throw InvalidArgument.field("processing_id", "required", "is required for this operation");
    }
    return { processingId: input.processingId };
  }

  private message(plan: Plan, code: string, ttlMs: number, profile: SecurityProfile | null, locale: string | undefined): OutboundMessage {
    const { destination } = plan;
    // The anti-phishing code goes only to a key the profile already has: a new, unproven
    // address (key addition, step 2) may not be the user's.
    const ownKey = plan.send && profile !== null && keyOf(profile, destination.type)?.value === destination.value;
    const view = {
      code,
      expiresInMinutes: expiresInMinutes(ttlMs),
      ...(ownKey ? { antiPhishingCode: profile.antiPhishingCode } : {}),
    };
    return destination.type === "email"
      ? { kind: "email", to: destination.value, ...this.deps.templates.render(plan.template, "email", locale, view) }
      : { kind: "sms", to: destination.value, ...this.deps.templates.render(plan.template, "sms", locale, view) };
  }
}

export class StepOneOperation extends InvalidArgument {
  override readonly reason = "STEP_ONE_OPERATION";
  constructor() {
    super([{ field: "operation", rule: "step_one", message: "a step-1 token is proven by its step-2 request (Request…NewKeyToken), not consumed" }]);
    this.name = "StepOneOperation";
  }
}

/**
 * Whose guesses an OTT spends: the operation's pool, but a key the profile holds unverified may be
 * anyone's address (a profile a backend made from what a visitor typed), so its OTTs spend the
 * public pool, never the account pool of whoever really owns the address.
 */
function poolOf(spec: OperationSpec, plan: Plan, profile: SecurityProfile | null): GuessPool {
  if (spec.guessPool === "public" || profile === null) return "public";
  const key = keyOf(profile, plan.destination.type);
  return key?.verified === true && key.value === plan.destination.value ? "account" : "public";
}

/** What an OTT's hash covers: the token, and for an operation bound to it the processing id. */
function bound(spec: OperationSpec, processingId: string | undefined, token: string): string {
  return spec.boundToProcessingId === true ? `${processingId ?? ""}\u0000${token}` : token;
}

function redeemed(redemption: Redemption, field: string): TokenRecord {
  switch (redemption.status) {
    case "missing":
      throw new TokenNotFound();
    case "wrong":
      throw new WrongToken(field, redemption.attemptsLeft);
    case "locked":
      throw new TokenLocked();
    case "redeemed":
      return decodeRecord(redemption.record);
  }
}

const issuedReplay = jsonReplay<IssuedToken>(["expireAt", "nextResendAt"]);
