import type { GuessPool } from "../secrets/oneTimeSecrets.js";
import type { MessageTemplateKind } from "../messages/messageTemplates.js";
import type { ActorKind } from "../actor.js";
import { EmailOnly, KeyAlreadyPresent, KeyNotFound, LastKey, MfaEnabled, MfaNotEnabled, NoOtherKey, ProfileChanged, ProfileNotFound, SecondFactorRequired } from "./profileTokenErrors.js";
import { keyOf, otherKeyType, type FactorChange, type ProfileChange, type SecurityProfile, type UserKey, type UserKeyState, type UserKeyType } from "./securityProfile.js";

/** Every operation an OTT can be for: one per Request…Token RPC (seeds 000/001). */
export const TOKEN_OPERATIONS = [
  "registration",
  "login",
  "password_recovery",
  "key_recovery",
  "key_recovery_new_key",
  "password_change",
  "key_addition",
  "key_change",
  "key_change_new_key",
  "key_removal",
  "anti_phishing_code",
  "mfa_disable",
] as const;

export type TokenOperation = (typeof TOKEN_OPERATIONS)[number];

/** What a request for an OTT says, decoded; which fields matter depends on the operation. */
export interface RequestInput {
  /** The user acted on, already checked against the caller. */
  readonly userId?: string;
  readonly processingId?: string;
  /** Registration, password recovery: the key typed. Key addition and step 2: the new key. */
  readonly key?: UserKey;
  /** Login, key change, removal, MFA disable: the key acted on. Key recovery: the lost key. */
  readonly keyType?: UserKeyType;
  /** Anti-phishing: where the caller asked the OTT to go (email only). */
  readonly destinationType?: UserKeyType;
  /** Step 2: the OTT of step 1. */
  readonly step1Token?: string;
  readonly locale?: string;
  /** Registration, password recovery: the CAPTCHA answer a public caller sends (TOKEN_PUBLIC_CAPTCHA). */
  readonly captchaResponse?: string;
}

/** The key an effect acts on: its type, its value when requested, and the value it gets. */
export interface Target {
  readonly type: UserKeyType;
  readonly current: string | null;
  readonly next?: string;
}

/** What one operation decided for one request. */
export interface Plan {
  readonly destination: UserKey;
  /** What the answer shows, when not the destination: the key as typed, whether or not it is known. */
  readonly shown?: UserKey;
  /**
   * false: answer exactly as if the OTT went out, but send nothing (an unknown address for
   * password recovery, an address that belongs to another profile): no user enumeration.
   */
  readonly send: boolean;
  readonly template: MessageTemplateKind;
  /** The user the OTT is for (password recovery finds it by the key). */
  readonly userId?: string;
  readonly target?: Target;
}

export interface PlanContext {
  readonly input: RequestInput;
  /** The user's profile, or for registration and password recovery the key owner's. */
  readonly profile: SecurityProfile | null;
  /** Who owns `input.key`; null when nobody does. */
  readonly keyOwner: string | null;
  /** Step 2: the step-1 OTT's target, proven by its token. */
  readonly step1?: Target;
}

/** What a consume request carries besides the OTT, for the effects that take a value. */
export interface ConsumeValues {
  readonly antiPhishingCode?: string;
}

/** A value a change needs from the consume request, and the request field that carries it. */
export interface RequiredValue {
  readonly value: keyof ConsumeValues;
  readonly field: string;
  readonly message: string;
}

/** What consuming an OTT does. */
export type Effect =
  /** Password change and login: the OTT is confirmed, passwords are not ours. */
  | { readonly kind: "confirm" }
  /**
   * The key the OTT went to is answered, proven: registration's, for the caller to create the
   * profile with; password recovery's, with the user it belongs to.
   */
  | { readonly kind: "verified_key" }
  | {
      readonly kind: "change";
      /** Checked before the OTT is redeemed, so a forgotten field does not burn it. */
      readonly requires?: RequiredValue;
      change(target: Target | undefined, values: ConsumeValues): ProfileChange;
    };

export interface OperationSpec {
  /** Registration and password recovery are for a processing id; every other for a user. */
  readonly subject: "user" | "processing";
  /** The seeds mark it switchable: TOKEN_DISABLED_OPERATIONS may turn it off. */
  readonly switchable: boolean;
  /**
   * Who may request and consume it (a user only for its own profile); public only when
   * TOKEN_PUBLIC_REQUESTS is on. The access table (auth/access.ts) takes its Request…Token and
   * ConsumeToken entries from here.
   */
  readonly callers: readonly ActorKind[];
  /** Step 2: the step-1 operation whose OTT the request proves (and spends). */
  readonly proves?: TokenOperation;
  /**
   * Step 1: the step-2 operation whose request proves it. Its OTT is never consumed on its own,
   * and its storage key names the key type, so step 2, which names only the new key, finds it.
   */
  readonly provenBy?: TokenOperation;
  /**
   * The OTT's hash covers the request's processing id as well, so consuming it for another
   * processing id (or none) is a wrong token: a login code works only for the login it was sent for.
   */
  readonly boundToProcessingId?: true;
  /**
   * Whose guesses the OTT spends: "public" when the caller names where it goes (anyone could
   * have it sent to anyone's address), "account" when it goes to a key the profile already has
   * (one it holds unverified spends the public pool all the same: it may be anyone's).
   */
  readonly guessPool: GuessPool;
  /** What the request reads: the user's profile, the owner of `input.key`, or both. */
  readonly reads: { readonly user: boolean; readonly key: boolean };
  /**
   * A change to how the user signs in: refused while the profile's factor changes are locked,
   * and, once applied (the operation's effect), announced to the profile's other keys with a
   * "this wasn't me" report token.
   */
  readonly factorChange?: FactorChange;
  plan(context: PlanContext): Plan;
  readonly effect?: Effect;
}

const service: readonly ActorKind[] = ["service"];
const serviceOrPublic: readonly ActorKind[] = ["service", "public"];
const userOrService: readonly ActorKind[] = ["user", "service"];

function profileOf(context: PlanContext): SecurityProfile {
  if (context.profile === null) throw new ProfileNotFound();
  return context.profile;
}

function existingKey(profile: SecurityProfile, type: UserKeyType | undefined): UserKey & { mfaEnabled: boolean; verified: boolean } {
  const key = type === undefined ? undefined : keyOf(profile, type);
  if (key === undefined || type === undefined) throw new KeyNotFound();
  return { type, ...key };
}

function requireKey(input: RequestInput): UserKey {
  // The RPC layer fills `key` for every operation that reads it.
  if (input.key === undefined) throw new Error("this operation needs input.key");
  return input.key;
}

/** A new key is sent nothing when it belongs to another profile; the answer is the same. */
function newKeyIsFree(context: PlanContext, userId: string): boolean {
  return context.keyOwner === null || context.keyOwner === userId;
}

function requireStep1(context: PlanContext): Target {
  if (context.step1 === undefined) throw new Error("step 2 planned without its step-1 target");
  return context.step1;
}

/** The key a change acts on: every operation whose effect acts on a key plans it as the target. */
function requireTarget(target: Target | undefined, what: string): Target {
  if (target === undefined) throw new Error(`${what} without its key`);
  return target;
}

const setKey = (requireMfaOff: boolean, requireSecondFactor = false): Effect => ({
  kind: "change",
  change: (target) => {
    const { type, current, next } = requireTarget(target, "a key change");
    if (next === undefined) throw new Error("a key change without its new value");
    return { kind: "set_key", type, current, requireMfaOff, ...(requireSecondFactor ? { requireSecondFactor } : {}), value: next };
  },
});

/**
 * Recovery hands the lost key to whoever holds the other one. While MFA is on for the lost key,
 * that is only a second factor if MFA is on for the other key too; otherwise the holder of a
 * plain contact address would take over the key MFA sends to.
 */
function requireSecondFactor(lost: UserKeyState, other: UserKeyState | undefined): void {
  if (lost.mfaEnabled && other?.mfaEnabled !== true) throw new SecondFactorRequired();
}

/**
 * The operations as data: who may call, what the request reads, where the OTT goes and on which
 * condition (plan), and what consuming it does (effect). The service runs one pipeline for all.
 */
export const operations: Readonly<Record<TokenOperation, OperationSpec>> = {
  registration: {
    subject: "processing",
    switchable: false,
    callers: serviceOrPublic,
    reads: { user: false, key: true },
    guessPool: "public",
    plan: (context) => ({ destination: requireKey(context.input), send: context.keyOwner === null, template: "token.registration" }),
    effect: { kind: "verified_key" },
  },
  login: {
    subject: "user",
    switchable: true,
    callers: service,
    boundToProcessingId: true,
    reads: { user: true, key: false },
    guessPool: "account",
    plan: (context) => {
      const key = existingKey(profileOf(context), context.input.keyType);
      if (!key.mfaEnabled) throw new MfaNotEnabled();
      return { destination: key, send: true, template: "token.login" };
    },
    effect: { kind: "confirm" },
  },
  password_recovery: {
    subject: "processing",
    switchable: false,
    callers: serviceOrPublic,
    reads: { user: false, key: true },
    guessPool: "public",
    plan: (context) => {
      const typed = requireKey(context.input);
      const profile = context.profile;
      // Only a verified key recovers a password: an unverified one may not be the user's.
      const stored = profile === null ? undefined : keyOf(profile, typed.type);
      if (profile === null || stored?.verified !== true) return { destination: typed, send: false, template: "token.password_recovery" };
      return { destination: { type: typed.type, value: stored.value }, shown: typed, send: true, template: "token.password_recovery", userId: profile.userId };
    },
    effect: { kind: "verified_key" },
  },
  key_recovery: {
    subject: "user",
    switchable: true,
    callers: service,
    provenBy: "key_recovery_new_key",
    reads: { user: true, key: false },
    guessPool: "account",
    factorChange: "key_recovered",
    plan: (context) => {
      const profile = profileOf(context);
      const lost = existingKey(profile, context.input.keyType);
      const other = keyOf(profile, otherKeyType(lost.type));
      // Never to the key being recovered: whoever holds it may not be the user any more.
      if (other === undefined || !other.verified) throw new NoOtherKey();
      requireSecondFactor(lost, other);
      return {
        destination: { type: otherKeyType(lost.type), value: other.value },
        send: true,
        template: "token.key_recovery_verification",
        target: { type: lost.type, current: lost.value },
      };
    },
  },
  key_recovery_new_key: {
    subject: "user",
    switchable: false,
    callers: service,
    proves: "key_recovery",
    reads: { user: true, key: true },
    guessPool: "public",
    factorChange: "key_recovered",
    plan: (context) => {
      const profile = profileOf(context);
      const step1 = requireStep1(context);
      const lost = keyOf(profile, step1.type);
      if ((lost?.value ?? null) !== step1.current) throw new ProfileChanged();
      // Again here: MFA may have been turned on since step 1 (and once more when consumed).
      if (lost !== undefined) requireSecondFactor(lost, keyOf(profile, otherKeyType(step1.type)));
      const key = requireKey(context.input);
      return {
        destination: key,
        send: newKeyIsFree(context, profile.userId),
        template: "token.key_recovery_new_key",
        target: { ...step1, next: key.value },
      };
    },
    effect: setKey(false, true),
  },
  password_change: {
    subject: "user",
    switchable: false,
    callers: userOrService,
    reads: { user: true, key: false },
    guessPool: "account",
    plan: (context) => {
      const profile = profileOf(context);
      // Seed 000: email by default, the phone number if there is no email.
      const key = existingKey(profile, profile.email !== undefined ? "email" : profile.phone !== undefined ? "phone" : undefined);
      return { destination: key, send: true, template: "token.password_change" };
    },
    effect: { kind: "confirm" },
  },
  key_addition: {
    subject: "user",
    switchable: false,
    callers: userOrService,
    reads: { user: true, key: true },
    guessPool: "public",
    factorChange: "key_added",
    plan: (context) => {
      const profile = profileOf(context);
      const key = requireKey(context.input);
      if (keyOf(profile, key.type) !== undefined) throw new KeyAlreadyPresent();
      return { destination: key, send: newKeyIsFree(context, profile.userId), template: "token.key_adding", target: { type: key.type, current: null, next: key.value } };
    },
    effect: setKey(false),
  },
  key_change: {
    subject: "user",
    switchable: false,
    callers: userOrService,
    provenBy: "key_change_new_key",
    reads: { user: true, key: false },
    guessPool: "account",
    factorChange: "key_changed",
    plan: (context) => {
      const key = existingKey(profileOf(context), context.input.keyType);
      if (key.mfaEnabled) throw new MfaEnabled();
      return { destination: key, send: true, template: "token.key_changing", target: { type: key.type, current: key.value } };
    },
  },
  key_change_new_key: {
    subject: "user",
    switchable: false,
    callers: userOrService,
    proves: "key_change",
    reads: { user: true, key: true },
    guessPool: "public",
    factorChange: "key_changed",
    plan: (context) => {
      const profile = profileOf(context);
      const step1 = requireStep1(context);
      const current = keyOf(profile, step1.type);
      if ((current?.value ?? null) !== step1.current) throw new ProfileChanged();
      if (current?.mfaEnabled === true) throw new MfaEnabled();
      const key = requireKey(context.input);
      return { destination: key, send: newKeyIsFree(context, profile.userId), template: "token.key_changing_new_key", target: { ...step1, next: key.value } };
    },
    effect: setKey(true),
  },
  key_removal: {
    subject: "user",
    switchable: false,
    callers: userOrService,
    reads: { user: true, key: false },
    guessPool: "account",
    factorChange: "key_removed",
    plan: (context) => {
      const profile = profileOf(context);
      const key = existingKey(profile, context.input.keyType);
      if (key.mfaEnabled) throw new MfaEnabled();
      if (keyOf(profile, otherKeyType(key.type)) === undefined) throw new LastKey();
      return { destination: key, send: true, template: "token.key_removing", target: { type: key.type, current: key.value } };
    },
    effect: {
      kind: "change",
      change: (target) => {
        const { type, current } = requireTarget(target, "a key removal");
        if (current === null) throw new Error("a key removal without its key");
        return { kind: "remove_key", type, current };
      },
    },
  },
  anti_phishing_code: {
    subject: "user",
    switchable: true,
    callers: userOrService,
    reads: { user: true, key: false },
    guessPool: "account",
    plan: (context) => {
      const profile = profileOf(context);
      if (context.input.destinationType === "phone" || profile.email === undefined) throw new EmailOnly();
      return {
        destination: { type: "email", value: profile.email.value },
        send: true,
        template: profile.antiPhishingCode === undefined ? "token.anti_phishing_adding" : "token.anti_phishing_changing",
      };
    },
    effect: {
      kind: "change",
      requires: { value: "antiPhishingCode", field: "anti_phishing_code", message: "is required to set the anti-phishing code" },
      change: (_target, { antiPhishingCode }) => {
        if (antiPhishingCode === undefined) throw new Error("an anti-phishing change without its code");
        return { kind: "set_anti_phishing_code", code: antiPhishingCode };
      },
    },
  },
  mfa_disable: {
    subject: "user",
    switchable: true,
    callers: userOrService,
    reads: { user: true, key: false },
    guessPool: "account",
    factorChange: "mfa_disabled",
    plan: (context) => {
      const key = existingKey(profileOf(context), context.input.keyType);
      if (!key.mfaEnabled) throw new MfaNotEnabled();
      return { destination: key, send: true, template: "token.mfa_disabling", target: { type: key.type, current: key.value } };
    },
    effect: { kind: "change", change: (target) => ({ kind: "disable_mfa", type: requireTarget(target, "an MFA disable").type }) },
  },
};

export function isTokenOperation(name: string): name is TokenOperation {
  return (TOKEN_OPERATIONS as readonly string[]).includes(name);
}

export const switchableOperations: readonly TokenOperation[] = TOKEN_OPERATIONS.filter((operation) => operations[operation].switchable);

/**
 * Consuming a "this wasn't me" report token: not an OTT anyone requests (a factor change sends
 * it), so not among the request operations, but consumed through the same RPC.
 */
export const FACTOR_CHANGE_REPORT = "factor_change_report";

/**
 * Who may report a factor change: the token is the proof, as for password recovery, so services
 * and, when TOKEN_PUBLIC_REQUESTS is on, public callers.
 */
export const factorChangeReport: { readonly callers: readonly ActorKind[] } = { callers: serviceOrPublic };

/** Who may consume some OTT (ConsumeToken): the callers of every operation but a step 1, and of reports. */
export const consumeCallers: readonly ActorKind[] = [
  ...new Set([...TOKEN_OPERATIONS.filter((operation) => operations[operation].provenBy === undefined).flatMap((operation) => operations[operation].callers), ...factorChangeReport.callers]),
];
