import { generateCode, type CodeSpec, type SymbolSet } from "../domain/secrets/codeGenerator.js";
import { isTokenOperation, switchableOperations, TOKEN_OPERATIONS, type TokenOperation } from "../domain/profileTokens/operations.js";
import type { TokenRules } from "../domain/profileTokens/tokenRules.js";
import { DomainError } from "../errors/domainError.js";
import type { Parsed } from "./config.js";
import { sendLimitConfig } from "./sendLimitConfig.js";

const symbolSets: readonly SymbolSet[] = ["digits", "lowercase", "uppercase"];

/** TokenService's rules from the TOKEN_* variables; every problem found goes to `problems`. */
export function tokenConfig(v: Parsed, guesses: TokenRules["guesses"], problems: string[]): TokenRules {
  // OTTs go by email or SMS, to a person: out-of-band codes, bounded as verification codes are.
  const maxSeconds = v.OUT_OF_BAND_CODE_MAX_TTL_SECONDS!;
  if (v.TOKEN_TTL_SECONDS! > maxSeconds) problems.push(`TOKEN_TTL_SECONDS: must not exceed OUT_OF_BAND_CODE_MAX_TTL_SECONDS (${maxSeconds})`);
  const ttlMs = Object.fromEntries(TOKEN_OPERATIONS.map((operation) => [operation, v.TOKEN_TTL_SECONDS! * 1000])) as Record<TokenOperation, number>;
  for (const entry of v.TOKEN_TTL_OVERRIDES ?? []) {
    const [name = "", seconds = ""] = entry.split("=").map((part) => part.trim());
    if (!isTokenOperation(name)) problems.push(`TOKEN_TTL_OVERRIDES: "${name}" is not an operation (${TOKEN_OPERATIONS.join(", ")})`);
    else if (!/^\d+$/.test(seconds) || Number(seconds) < 1 || Number(seconds) > maxSeconds) {
      problems.push(`TOKEN_TTL_OVERRIDES: ${name} needs 1 to ${maxSeconds} seconds (OUT_OF_BAND_CODE_MAX_TTL_SECONDS)`);
    } else ttlMs[name] = Number(seconds) * 1000;
  }
  const disabled = new Set<TokenOperation>();
  for (const name of v.TOKEN_DISABLED_OPERATIONS ?? []) {
    if (isTokenOperation(name) && switchableOperations.includes(name)) disabled.add(name);
    else problems.push(`TOKEN_DISABLED_OPERATIONS: "${name}" is not a switchable operation (${switchableOperations.join(", ")})`);
  }
  return {
    ttlMs,
    disabled,
    maskDestinations: v.TOKEN_MASK_DESTINATIONS!,
    maxAttempts: v.TOKEN_MAX_ATTEMPTS!,
    sends: sendLimitConfig(v, "TOKEN"),
    guesses,
    codes: {
      email: codeSpec("TOKEN_EMAIL", v.TOKEN_EMAIL_CODE_LENGTH!, v.TOKEN_EMAIL_CODE_SYMBOLS!, problems),
      sms: codeSpec("TOKEN_SMS", v.TOKEN_SMS_CODE_LENGTH!, v.TOKEN_SMS_CODE_SYMBOLS!, problems),
    },
    publicRequests: v.TOKEN_PUBLIC_REQUESTS!,
    publicCaptcha: v.TOKEN_PUBLIC_CAPTCHA!,
    client: { count: v.TOKEN_CLIENT_LIMIT!, windowMs: v.TOKEN_CLIENT_WINDOW_SECONDS! * 1000 },
    factorReportTtlMs: v.TOKEN_FACTOR_REPORT_TTL_SECONDS! * 1000,
  };
}

function codeSpec(prefix: string, length: number, sets: readonly string[], problems: string[]): CodeSpec {
  const unknown = sets.filter((set) => !(symbolSets as readonly string[]).includes(set));
  if (unknown.length > 0) {
    problems.push(`${prefix}_CODE_SYMBOLS: ${unknown.join(", ")} not among ${symbolSets.join(", ")}`);
    return {};
  }
  const spec: CodeSpec = { length, symbolSets: sets as SymbolSet[] };
  try {
    // The generator refuses shapes too weak to stand the guess budget: refuse them at start.
    generateCode(spec);
  } catch (error) {
    if (!(error instanceof DomainError)) throw error;
    problems.push(`${prefix}_CODE_LENGTH: ${error.message.replace(/^generate_code\.length: /, "")}`);
  }
  return spec;
}
