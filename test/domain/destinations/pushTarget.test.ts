import { describe, expect, it } from "vitest";
import { checkPushParam, checkPushPrid, checkPushProvider, checkPushTarget, type PushTarget } from "../../../src/domain/destinations/pushTarget.js";

describe("seed 003's push target rules", () => {
  it.each([
    ["absent", undefined, undefined],
    ["null", null, undefined],
    ["letters, digits, underscore", "Voip_2", undefined],
    ["a bundle id (dots, as the seed project allows)", "org.linphone.phone.voip", undefined],
    ["empty", "", "min_len"],
    ["a hyphen", "org.my-company.app", "pattern"],
    ["a slash", "org/example", "pattern"],
    ["a space", "org example", "pattern"],
    ["a colon", "org:example", "pattern"],
    ["non-ASCII letters", "org.exämple", "pattern"],
    ["256 characters", "a".repeat(256), "max_len"],
    ["255 characters", "a".repeat(255), undefined],
  ])("pn_param %s", (_case, value, rule) => {
    expect(checkPushParam(value)?.rule).toBe(rule);
  });

  it.each([
    ["absent", undefined, undefined],
    ["an APNs token", "0f".repeat(32), undefined],
    ["an FCM token", "dXk2mN9pQ:APA91bH-abc_DEF123", undefined],
    ["a Linphone-style token with a suffix", `${"ab".repeat(32)}:remote`, undefined],
    ["empty", "", "min_len"],
    ["a dot", "abc.def", "pattern"],
    ["a slash (path traversal)", "../../3/device", "pattern"],
    ["a percent sign", "abc%2Fdef", "pattern"],
    ["an ampersand", "abc&def", "pattern"],
    ["a newline", "abc\ndef", "pattern"],
    ["1025 characters", "a".repeat(1025), "max_len"],
  ])("pn_prid %s", (_case, value, rule) => {
    expect(checkPushPrid(value)?.rule).toBe(rule);
  });

  it.each([
    ["apns.dev", undefined],
    ["apns", undefined],
    ["fcm", undefined],
    ["", "required"],
    ["gcm", "in"],
    ["APNS", "in"],
  ])("pn_provider %j", (value, rule) => {
    expect(checkPushProvider(value)?.rule).toBe(rule);
  });

  it("checks a whole target, requires a device token to send, and never quotes the value", () => {
    const bad = { provider: "apns", deviceToken: "secret/value", param: "bad param" } satisfies PushTarget;
    const violations = checkPushTarget(bad);
    expect(violations.map((violation) => [violation.field, violation.rule])).toEqual([
      ["pn_prid", "pattern"],
      ["pn_param", "pattern"],
    ]);
    expect(JSON.stringify(violations)).not.toMatch(/secret|bad param/);
    expect(checkPushTarget({ provider: "fcm", deviceToken: "" })).toEqual([{ field: "pn_prid", rule: "required", message: "is required to send a push" }]);
    expect(checkPushTarget({ provider: "fcm", deviceToken: "abc" })).toEqual([]);
  });
});
