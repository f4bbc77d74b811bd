import type { Parsed } from "./config.js";

/**
 * Test mode (docs/test-mode.md): which destinations are tests. Their messages never reach a
 * provider; every other destination is sent as if test mode were off.
 */
export interface TestModeConfig {
  /** Address patterns; `*` matches any run of characters, compared case-insensitively. */
  readonly emailPatterns: readonly string[];
  /** E.164 prefixes. */
  readonly phonePrefixes: readonly string[];
  /** Device token prefixes. */
  readonly pushTokenPrefixes: readonly string[];
}

/** Absent unless TEST_MODE=true; refused in production, where a pattern could swallow real codes. */
export function testModeConfig(v: Parsed, production: boolean, problems: string[]): TestModeConfig | undefined {
  if (v.TEST_MODE !== true) return undefined;
  if (production) {
    problems.push("TEST_MODE: keeps messages to test destinations in an inbox admins can read, instead of sending them; not with NODE_ENV=production");
  }
  return {
    emailPatterns: v.TEST_MODE_EMAIL_PATTERNS ?? [],
    phonePrefixes: v.TEST_MODE_PHONE_PREFIXES ?? [],
    pushTokenPrefixes: v.TEST_MODE_PUSH_TOKEN_PREFIXES ?? [],
  };
}
