import { describe, expect, it } from "vitest";
import { scriptOf } from "../../../src/channels/testMode/scriptedOutcome.js";
import { testDestinations } from "../../../src/channels/testMode/testDestinations.js";
import type { OutboundMessage } from "../../../src/domain/messages/outboundMessage.js";

const email = (to: string): OutboundMessage => ({ kind: "email", to, subject: "s", text: "t", html: "h" });
const sms = (to: string): OutboundMessage => ({ kind: "sms", to, text: "t" });
const push = (deviceToken: string): OutboundMessage => ({ kind: "push", to: { provider: "fcm", deviceToken }, title: "t", body: "b", data: {} });

describe("test destinations", () => {
  const destinations = testDestinations({
    emailPatterns: ["*@test.example", "ci-*@example.org"],
    phonePrefixes: ["+141555501"],
    pushTokenPrefixes: ["test-device-"],
  });

  it("matches address patterns whole, case-insensitively, * being any run of characters", () => {
    expect(destinations.isTest(email("someone@test.example"))).toBe(true);
    expect(destinations.isTest(email("Fail+X@Test.Example"))).toBe(true);
    expect(destinations.isTest(email("ci-42@example.org"))).toBe(true);
    // Never a real address that merely contains a pattern's text.
    expect(destinations.isTest(email("someone@test.example.com"))).toBe(false);
    expect(destinations.isTest(email("someone@testXexample"))).toBe(false);
    expect(destinations.isTest(email("ada@example.org"))).toBe(false);
  });

  it("matches phone numbers and device tokens by prefix, kind by kind", () => {
    expect(destinations.isTest(sms("+14155550142"))).toBe(true);
    expect(destinations.isTest(sms("+14155550242"))).toBe(false);
    expect(destinations.isTest(push("test-device-1"))).toBe(true);
    expect(destinations.isTest(push("f00d"))).toBe(false);
  });
});

describe("scripted outcomes", () => {
  it("reads the start of an address's local part", () => {
    expect(scriptOf(email("fail+a@test.example"))).toEqual({ kind: "fail" });
    expect(scriptOf(email("Timeout+a@test.example"))).toEqual({ kind: "timeout" });
    expect(scriptOf(email("retry3+a@test.example"))).toEqual({ kind: "retry", failures: 3 });
    expect(scriptOf(email("failing@test.example"))).toEqual({ kind: "deliver" });
    expect(scriptOf(email("a+fail@test.example"))).toEqual({ kind: "deliver" });
    expect(scriptOf(sms("+14155550142"))).toEqual({ kind: "deliver" });
  });
});
