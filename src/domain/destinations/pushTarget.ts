import { InvalidArgument, type FieldViolation } from "../../errors/domainError.js";

/** Seed 003's push providers: APNs sandbox, APNs production, Firebase Cloud Messaging. */
export type PushProvider = "apns.dev" | "apns" | "fcm";

/** The device a push goes to. */
export interface PushTarget {
  readonly provider: PushProvider;
  /** Device token (APNs) or registration token (FCM): seed 003's `pn_prid`. */
  readonly deviceToken: string;
  /** Seed 003's `pn_param`: the app's topic (APNs bundle id) when it differs from the default. */
  readonly param?: string;
}

/** Seed 003's providers, in its order. */
export const pushProviders: readonly PushProvider[] = ["apns.dev", "apns", "fcm"];

/**
 * Seed 003 documents `pn_param` as "alphanumeric and underscore". We also allow dots, as the seed
 * project's own validation does (`/^[\w.]+$/`): the param is an APNs topic, a bundle id such as
 * `org.example.app`, and every bundle id has dots. Hyphens stay out, so a bundle id with a hyphen
 * can only be the configured default topic, never picked by a caller.
 */
const paramPattern = /^[A-Za-z0-9_.]+$/;
/** Bundle ids are at most 155 characters; topics add a suffix such as `.voip`. */
export const pushParamMaxLength = 255;

/** Seed 003: alphanumeric, dashes, underscore and colon (`<token>:remote` style ids included). */
const pridPattern = /^[A-Za-z0-9_:-]+$/;
/** APNs tokens are 64 hex digits today and FCM's about 160 characters; the bound leaves room to grow. */
export const pushPridMaxLength = 1024;

export function isPushProvider(value: string): value is PushProvider {
  return (pushProviders as readonly string[]).includes(value);
}

/** `pn_provider` is required and must name one of seed 003's providers. */
export function checkPushProvider(value: string | null | undefined): FieldViolation | undefined {
  if (value === null || value === undefined || value === "") {
    return { field: "pn_provider", rule: "required", message: "is required" };
  }
  if (!isPushProvider(value)) {
    return { field: "pn_provider", rule: "in", message: `must be one of ${pushProviders.join(", ")}` };
  }
  return undefined;
}

/** `pn_param` may be absent (null); when given it follows the character rule above. */
export function checkPushParam(value: string | null | undefined): FieldViolation | undefined {
  if (value === null || value === undefined) return undefined;
  return checkCharacters("pn_param", value, paramPattern, pushParamMaxLength, "letters, digits, underscores and dots");
}

/** `pn_prid` may be absent (null) in a request; a send needs it (see checkPushTarget). */
export function checkPushPrid(value: string | null | undefined): FieldViolation | undefined {
  if (value === null || value === undefined) return undefined;
  return checkCharacters("pn_prid", value, pridPattern, pushPridMaxLength, "letters, digits, dashes, underscores and colons");
}

/**
 * Every rule a target must pass before anything is sent to a provider. The messages name the rule,
 * never the value: they end up in logs and delivery outcomes.
 */
export function checkPushTarget(target: PushTarget): FieldViolation[] {
  const violations = [
    checkPushProvider(target.provider),
    target.deviceToken === "" ? { field: "pn_prid", rule: "required", message: "is required to send a push" } : checkPushPrid(target.deviceToken),
    checkPushParam(target.param),
  ];
  return violations.filter((violation): violation is FieldViolation => violation !== undefined);
}

/**
 * Checks a push target where it enters the system and answers `invalid_argument` with every
 * rule it breaks, each field named under `fieldPrefix` (`device.`).
 */
export function requirePushTarget(target: PushTarget, fieldPrefix: string): PushTarget {
  const violations = checkPushTarget(target);
  if (violations.length > 0) {
    throw new InvalidArgument(violations.map((violation) => ({ ...violation, field: `${fieldPrefix}${violation.field}` })));
  }
  return target;
}

function checkCharacters(field: string, value: string, pattern: RegExp, maxLength: number, allowed: string): FieldViolation | undefined {
  if (value.length === 0) return { field, rule: "min_len", message: "must not be empty (omit it instead)" };
  if (value.length > maxLength) return { field, rule: "max_len", message: `must be at most ${maxLength} characters` };
  if (!pattern.test(value)) return { field, rule: "pattern", message: `may contain only ${allowed}` };
  return undefined;
}
