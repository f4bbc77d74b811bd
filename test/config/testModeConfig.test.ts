import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/config.js";
import { problemsOf } from "../support/configProblems.js";

describe("TEST_MODE settings", () => {
  it("is refused with NODE_ENV=production", () => {
    expect(problemsOf({ NODE_ENV: "production", TEST_MODE: "true" })).toContainEqual(expect.stringMatching(/^TEST_MODE: .*not with NODE_ENV=production$/));
    expect(problemsOf({ NODE_ENV: "production" })).not.toContainEqual(expect.stringMatching(/^TEST_MODE/));
  });

  it("is off by default, and on gives the default test destinations", () => {
    expect(loadConfig({}).testMode).toBeUndefined();
    expect(loadConfig({ TEST_MODE: "true" }).testMode).toEqual({
      emailPatterns: ["*@test.example"],
      phonePrefixes: ["+141555501"],
      pushTokenPrefixes: ["test-device-"],
    });
  });

  it("refuses patterns and prefixes so broad they would take in real destinations", () => {
    for (const [name, value] of [
      ["TEST_MODE_EMAIL_PATTERNS", "*@*"],
      ["TEST_MODE_EMAIL_PATTERNS", "*@example.*"],
      ["TEST_MODE_PHONE_PREFIXES", "+1"],
      ["TEST_MODE_PHONE_PREFIXES", "+14155"],
      ["TEST_MODE_PUSH_TOKEN_PREFIXES", "a"],
    ]) {
      expect(problemsOf({ TEST_MODE: "true", [name!]: value! }), `${name}=${value}`).toEqual([expect.stringMatching(new RegExp(`^${name}: `))]);
    }
    expect(loadConfig({ TEST_MODE: "true", TEST_MODE_EMAIL_PATTERNS: "ci-*@*.example.org", TEST_MODE_PHONE_PREFIXES: "+447700900" }).testMode).toMatchObject({
      emailPatterns: ["ci-*@*.example.org"],
      phonePrefixes: ["+447700900"],
    });
  });

  it("names a pattern or prefix it cannot use", () => {
    const problems = problemsOf({ TEST_MODE: "true", TEST_MODE_EMAIL_PATTERNS: "test.example", TEST_MODE_PHONE_PREFIXES: "1415", TEST_MODE_PUSH_TOKEN_PREFIXES: "a b" });
    expect(problems).toEqual([
      expect.stringMatching(/^TEST_MODE_EMAIL_PATTERNS: /),
      expect.stringMatching(/^TEST_MODE_PHONE_PREFIXES: /),
      expect.stringMatching(/^TEST_MODE_PUSH_TOKEN_PREFIXES: /),
    ]);
  });
});
