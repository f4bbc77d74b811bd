import { describe, expect, it } from "vitest";
import { describePhoneNumber } from "../../../src/channels/sms/describePhoneNumber.js";
import { loadConfig } from "../../../src/config/config.js";
import { DestinationNotAllowed } from "../../../src/domain/traffic/trafficErrors.js";
import { TrafficPolicy } from "../../../src/domain/traffic/trafficPolicy.js";

const prefixHash = (prefix: string) => `hash(${prefix})`;
const policy = (env: Record<string, string> = {}) => new TrafficPolicy(loadConfig(env).traffic, describePhoneNumber, prefixHash);

function refusal(run: () => unknown): DestinationNotAllowed {
  try {
    run();
  } catch (error) {
    if (error instanceof DestinationNotAllowed) return error;
    throw error;
  }
  throw new Error("not refused");
}

describe("SMS destination policy (defaults)", () => {
  it.each([
    ["+449098790000", "GB", "premium_rate"],
    ["+37190123456", "LV", "premium_rate"],
    ["+33899123456", "FR", "premium_rate"],
    ["+19005550123", "US", "premium_rate"],
    ["+881612345678", "international", "international_network"],
    ["+870773123456", "international", "international_network"],
    ["+979123456789", "international", "international_network"],
  ])("refuses %s (%s, %s) as permission_denied DESTINATION_NOT_ALLOWED naming country and type", (number, country, type) => {
    const error = refusal(() => policy().checkDestination("sms", number));
    expect(error.kind).toBe("permission_denied");
    expect(error.reason).toBe("DESTINATION_NOT_ALLOWED");
    expect(error.metadata).toEqual({ country, number_type: type, rule: "destination_number_type" });
  });

  it.each(["+447400123456", "+4915112345678", "+33612345678", "+12025550123", "+442079460018"])("lets ordinary mobile and fixed numbers through (%s)", (number) => {
    expect(() => policy().checkDestination("sms", number)).not.toThrow();
  });

  it("never judges an email address by the SMS policy", () => {
    expect(() => policy({ SMS_ALLOWED_COUNTRIES: "DE" }).checkDestination("email", "ada@example.com")).not.toThrow();
  });
});

describe("SMS destination policy (settings)", () => {
  it("SMS_ALLOWED_COUNTRIES refuses every other country, by country", () => {
    const allowDe = policy({ SMS_ALLOWED_COUNTRIES: "de, at" });
    expect(() => allowDe.checkDestination("sms", "+4915112345678")).not.toThrow();
    const error = refusal(() => allowDe.checkDestination("sms", "+447400123456"));
    expect(error.metadata).toEqual({ country: "GB", number_type: "mobile", rule: "destination_country" });
  });

  it("SMS_DENIED_COUNTRIES refuses its countries and no other", () => {
    const denyCf = policy({ SMS_DENIED_COUNTRIES: "CF" });
    expect(refusal(() => denyCf.checkDestination("sms", "+23670123456")).metadata).toMatchObject({ country: "CF", rule: "destination_country" });
    expect(() => denyCf.checkDestination("sms", "+33612345678")).not.toThrow();
  });

  it("SMS_DENIED_NUMBER_TYPES replaces the default list", () => {
    const loose = policy({ SMS_DENIED_NUMBER_TYPES: "fixed_line" });
    expect(() => loose.checkDestination("sms", "+449098790000")).not.toThrow();
    expect(refusal(() => loose.checkDestination("sms", "+442079460018")).metadata).toMatchObject({ number_type: "fixed_line" });
  });

  it("SMS_DENIED_NUMBER_TYPES=none refuses no type", () => {
    expect(() => policy({ SMS_DENIED_NUMBER_TYPES: "none" }).checkDestination("sms", "+449098790000")).not.toThrow();
    expect(() => loadConfig({ SMS_DENIED_NUMBER_TYPES: "none,premium_rate" })).toThrow(/or none alone/);
  });

  it("refuses TOKEN_PUBLIC_CAPTCHA without public requests: it would ask nobody", () => {
    expect(() => loadConfig({ TOKEN_PUBLIC_CAPTCHA: "true" })).toThrow(/TOKEN_PUBLIC_CAPTCHA: asks public callers/);
    expect(() => loadConfig({ TOKEN_PUBLIC_CAPTCHA: "true", TOKEN_PUBLIC_REQUESTS: "true" })).not.toThrow();
  });

  it("refuses a configuration that allows and denies one country, or has an unknown number type", () => {
    expect(() => loadConfig({ SMS_ALLOWED_COUNTRIES: "GB", SMS_DENIED_COUNTRIES: "gb" })).toThrow(/GB in both/);
    expect(() => loadConfig({ SMS_DENIED_NUMBER_TYPES: "premium" })).toThrow(/SMS_DENIED_NUMBER_TYPES: each must be one of/);
    expect(() => loadConfig({ SMS_PRICES: "GB=0.04" })).toThrow(/SMS_PRICES: needs a \*=price entry/);
    expect(() => loadConfig({ SMS_PRICES: "GB=0,*=0.05" })).toThrow(/SMS_PRICES: "GB=0" must cost at least 0.000001/);
  });
});

describe("the traffic a send is charged to", () => {
  it("names an SMS's country and its prefix (country code and SMS_PREFIX_DIGITS national digits) by keyed hash only", () => {
    const traffic = policy({ SMS_PREFIX_DIGITS: "3" }).trafficOf("sms", "+447400123456", "public");
    expect(traffic.channel).toBe("sms");
    expect(traffic.area).toMatchObject({ country: "GB", prefix: "hash(+44740)" });
    expect(JSON.stringify(traffic)).not.toContain("123456");
  });

  it("counts each pool on its own counters, and judges prefix and country rates for the public pool only", () => {
    const rules = policy({ SMS_COUNTRY_HOURLY_BUDGET: "100" });
    const open = rules.trafficOf("sms", "+447400123456", "public");
    expect(open).toMatchObject({ channel: "sms", pool: "public", global: { limit: 300, windowMs: 60_000 } });
    expect(open.area).toMatchObject({ prefixLimit: { limit: 20 }, countryLimit: { limit: 500 }, spend: { cost: 1, hourly: 100, daily: 5000 } });
    expect(open.area?.conversion).toMatchObject({ minRatio: 0.2, prefixMinSends: 20, countryMinSends: 200 });
    const account = rules.trafficOf("sms", "+447400123456", "account");
    expect(account).toMatchObject({ pool: "account", global: open.global });
    expect(account.area).toEqual({ country: "GB", prefix: "hash(+447400)", spend: { cost: 1, hourly: 100, daily: 5000 }, conversion: open.area?.conversion });
  });

  it("costs an SMS what SMS_PRICES says for its country (else *), in millionths, against budgets in the same currency", () => {
    const priced = policy({ SMS_PRICES: "GB=0.035,*=0.05", SMS_COUNTRY_DAILY_BUDGET: "20", SMS_COUNTRY_HOURLY_BUDGET: "2.5" });
    expect(priced.trafficOf("sms", "+447400123456", "public").area?.spend).toEqual({ cost: 35_000, hourly: 2_500_000, daily: 20_000_000 });
    expect(priced.trafficOf("sms", "+4915112345678", "public").area?.spend?.cost).toBe(50_000);
  });

  it("caps emails by the channel's global limit alone, and 0 turns a cap off", () => {
    expect(policy().trafficOf("email", "ada@example.com", "public")).toEqual({ channel: "email", pool: "public", global: { limit: 3000, windowMs: 60_000 } });
    expect(policy({ EMAIL_PER_MINUTE_LIMIT: "0" }).trafficOf("email", "ada@example.com", "account")).toEqual({ channel: "email", pool: "account" });
  });
});
