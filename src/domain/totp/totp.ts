import { randomBytes } from "node:crypto";
import { generateURI, ScureBase32Plugin, verify } from "otplib";

/**
 * TOTP as authenticator apps implement it (RFC 6238 with Google Authenticator's choices): SHA1,
 * 6 digits, 30 s steps. Fixed rather than configurable: most apps ignore the URI parameters that
 * would change them and then show codes that never match.
 */
const algorithm = "sha1";
const digits = 6;
const periodSeconds = 30;
/** One step either side of now, for clock drift and the time it takes to type the code. */
const toleranceSeconds = periodSeconds;
/** 160 bits, the HMAC-SHA1 block RFC 4226 recommends; 20 bytes encode to 32 base32 characters, no padding. */
const secretBytes = 20;

const base32 = new ScureBase32Plugin();

/** A fresh shared secret, base32 (unpadded), as authenticator apps expect it. */
export function newTotpSecret(): string {
  return base32.encode(randomBytes(secretBytes), { padding: false });
}

export interface TotpUriOptions {
  /** Who issues the codes, shown by the app; empty omits it. */
  readonly issuer: string;
  /** Whose codes they are (the consumer), shown by the app. */
  readonly label: string;
  /** The base32 secret from {@link newTotpSecret}. */
  readonly secret: string;
}

/**
 * The `otpauth://totp/` URI to show as a QR code. otplib leaves out parameters equal to the
 * defaults; they are spelled out here because the seed API returns them and some apps read them.
 */
export function totpUri({ issuer, label, secret }: TotpUriOptions): string {
  const uri = generateURI({ strategy: "totp", issuer, label, secret, algorithm, digits, period: periodSeconds });
  const separator = uri.includes("?") ? "&" : "?";
  return `${uri}${separator}algorithm=${algorithm.toUpperCase()}&digits=${digits}&period=${periodSeconds}`;
}

export interface CheckTotpOptions {
  /** The base32 secret (already opened). */
  readonly secret: string;
  /** What the user typed. Anything but exactly six digits is a wrong code. */
  readonly code: string;
  /** The current time in milliseconds since the epoch. */
  readonly nowMs: number;
  /** The last time step already used for this secret: it and every earlier step are refused. */
  readonly afterTimeStep?: number | null;
}

export type TotpCheck =
  | { readonly valid: true; readonly timeStep: number }
  | { readonly valid: false; readonly reason: "wrong_code" | "replayed" };

const codePattern = /^[0-9]{6}$/;

/**
 * Checks a code against the steps now-1, now and now+1. A step at or before `afterTimeStep` is
 * never accepted; a code that only matches such a step is reported as `replayed`, so a caller
 * can tell a replay (possibly an attacker who saw the code) from a typo. Comparison is constant
 * time (otplib). The returned `timeStep` must then be recorded atomically (`markUsed`): this
 * check alone does not stop two concurrent uses of one code.
 */
export async function checkTotp({ secret, code, nowMs, afterTimeStep }: CheckTotpOptions): Promise<TotpCheck> {
  if (!codePattern.test(code)) return { valid: false, reason: "wrong_code" };
  const epoch = Math.floor(nowMs / 1000);
  const newestStep = Math.floor((epoch + toleranceSeconds) / periodSeconds);
  const used = afterTimeStep ?? -1;

  // otplib throws when afterTimeStep lies beyond the window (a used step ahead of this clock);
  // then every step in the window is used and only the replay question is left.
  if (used < newestStep) {
    const step = await matchingStep(secret, code, epoch, used < 0 ? undefined : used);
    if (step !== null) return { valid: true, timeStep: step };
    if (used < 0) return { valid: false, reason: "wrong_code" };
  }
  const matchesUsedStep = (await matchingStep(secret, code, epoch, undefined)) !== null;
  return { valid: false, reason: matchesUsedStep ? "replayed" : "wrong_code" };
}

/** The step in the window whose code is `code` (the oldest, should two match), or null. */
async function matchingStep(secret: string, code: string, epoch: number, afterTimeStep: number | undefined): Promise<number | null> {
  const result = await verify({
    strategy: "totp",
    secret,
    token: code,
    algorithm,
    digits,
    period: periodSeconds,
    epoch,
    epochTolerance: toleranceSeconds,
    ...(afterTimeStep === undefined ? {} : { afterTimeStep }),
  });
  if (!result.valid) return null;
  // verify's result type covers HOTP too, which has no time step.
  if (!("timeStep" in result)) throw new TypeError("otplib returned a result without a time step for TOTP");
  return result.timeStep;
}
