import { describe, expect, it } from "vitest";
import type { SendLimits, TrafficArea } from "../../src/domain/secrets/sendLimits.js";
import type { SendLimitsFixture } from "./sendLimits.contract.js";
import { at, countStatuses, expectTraffic, noWait, request, retryAfter, sms } from "./sendLimitRequests.js";

const hourMs = 3_600_000;
const dayMs = 86_400_000;

/**
 * The traffic limits (SendRequest.traffic: channel, prefix and country rates, spend, conversion),
 * part of the send limits' contract on every backend. Each destination here is its own scope, as
 * SMS pumping spreads over many numbers: what refuses is the channel or the area, never the
 * destination's own limits. `current` gives the contract's fixture of the running test.
 */
export function describeTrafficContract(current: () => { readonly fixture: SendLimitsFixture; readonly admission: SendLimits }): void {
  describe("traffic limits", () => {
    /** A send of its own destination to an area with the rules given. */
    const toArea = (scope: string, area: Partial<TrafficArea>) => request({ scope, traffic: sms({ area }) });
    const admit = (scope: string, area: Partial<TrafficArea>) => current().admission.admit(toArea(scope, area));

    it("refuses past the channel's rate, whoever the destination, until its window ends", async () => {
      const { admission, fixture } = current();
      const channel = (scope: string, name = "sms") =>
        request({ scope, traffic: { channel: name, global: { limit: 2, windowMs: 300 } } });
      expect((await admission.admit(channel("number-1"))).status).toBe("admitted");
      expect((await admission.admit(channel("number-2"))).status).toBe("admitted");
      const full = await admission.admit(channel("number-3"));
      expectTraffic(full, "channel_rate", 200, 300);
      // Channels count apart.
      expect((await admission.admit(channel("number-4", "email"))).status).toBe("admitted");
      await fixture.elapse(retryAfter(full) + 30);
      expect(await admission.admit(channel("number-3"))).toMatchObject({ status: "admitted", sendNumber: 1 });
    });

    it("refuses past a prefix's rate, other prefixes of the country still open", async () => {
      const prefixLimit = { limit: 2, windowMs: 300 };
      expect((await admit("number-1", { prefixLimit })).status).toBe("admitted");
      expect((await admit("number-2", { prefixLimit })).status).toBe("admitted");
      expectTraffic(await admit("number-3", { prefixLimit }), "prefix_rate", 200, 300);
      expect((await admit("number-3", { prefixLimit, prefix: "prefix-447911" })).status).toBe("admitted");
    });

    it("refuses past a country's rate, whatever the prefix, other countries still open", async () => {
      const countryLimit = { limit: 2, windowMs: 300 };
      expect((await admit("number-1", { countryLimit, prefix: "prefix-a" })).status).toBe("admitted");
      expect((await admit("number-2", { countryLimit, prefix: "prefix-b" })).status).toBe("admitted");
      expectTraffic(await admit("number-3", { countryLimit, prefix: "prefix-c" }), "country_rate", 200, 300);
      expect((await admit("number-3", { countryLimit, prefix: "prefix-c", country: "FR" })).status).toBe("admitted");
    });

    it("charges each send's cost to the hourly budget and refuses what would go over it", async () => {
      const spend = (cost: number) => ({ spend: { cost, hourly: 7, daily: 1_000 } });
      expect((await admit("number-1", spend(3))).status).toBe("admitted");
      expect((await admit("number-2", spend(3))).status).toBe("admitted");
      // 6 + 3 > 7, but 6 + 1 fits exactly.
      expectTraffic(await admit("number-3", spend(3)), "hourly_budget", hourMs - 10_000, hourMs);
      expect((await admit("number-3", spend(1))).status).toBe("admitted");
      expectTraffic(await admit("number-4", spend(1)), "hourly_budget", hourMs - 10_000, hourMs);
    });

    it("charges each send's cost to the daily budget, apart from the hourly one", async () => {
      const spend = { spend: { cost: 4, hourly: 1_000, daily: 10 } };
      expect((await admit("number-1", spend)).status).toBe("admitted");
      expect((await admit("number-2", spend)).status).toBe("admitted");
      expectTraffic(await admit("number-3", spend), "daily_budget", dayMs - 10_000, dayMs);
      // A cost beyond the whole budget never fits: refused for a whole window, nothing charged yet.
      expectTraffic(await admit("number-3", { country: "FR", spend: { cost: 11, daily: 10 } }), "daily_budget", dayMs - 10_000, dayMs);
    });

    describe("conversion", () => {
      const conversion = { windowMs: 300, minRatio: 0.5, prefixMinSends: 2, countryMinSends: 100 };
      const byPrefix = { conversion };

      it("refuses a prefix once its sends reach the minimum unvalidated, until validations bring the ratio back", async () => {
        const { admission } = current();
        expect((await admit("number-1", byPrefix)).status).toBe("admitted");
        expect((await admit("number-2", byPrefix)).status).toBe("admitted");
        expectTraffic(await admit("number-3", byPrefix), "prefix_conversion", 200, 300);
        // Another prefix of the country has sends of its own to judge by.
        expect((await admit("number-9", { ...byPrefix, prefix: "prefix-447911" })).status).toBe("admitted");

        await admission.recordConversion(sms({ area: byPrefix }));
        // One of two validated is the ratio: admitted, and now one of three is below it.
        expect((await admit("number-3", byPrefix)).status).toBe("admitted");
        expect((await admit("number-4", byPrefix)).status).toBe("traffic");
        await admission.recordConversion(sms({ area: byPrefix }));
        expect((await admit("number-4", byPrefix)).status).toBe("admitted");
      });

      it("refuses a country once its sends reach the minimum unvalidated, whatever the prefix", async () => {
        const { admission } = current();
        const byCountry = (prefix: string) => ({ prefix, conversion: { ...conversion, prefixMinSends: 100, countryMinSends: 2 } });
        expect((await admit("number-1", byCountry("prefix-a"))).status).toBe("admitted");
        expect((await admit("number-2", byCountry("prefix-b"))).status).toBe("admitted");
        expectTraffic(await admit("number-3", byCountry("prefix-c")), "country_conversion", 200, 300);
        await admission.recordConversion(sms({ area: byCountry("prefix-a") }));
        expect((await admit("number-3", byCountry("prefix-c"))).status).toBe("admitted");
      });

      it("counts a validation only in a window its sends opened", async () => {
        const { admission, fixture } = current();
        // No window yet: nothing to count, and no window is opened by counting.
        await admission.recordConversion(sms({ area: byPrefix }));
        expect((await admit("number-1", byPrefix)).status).toBe("admitted");
        expect((await admit("number-2", byPrefix)).status).toBe("admitted");
        const refused = await admit("number-3", byPrefix);
        expectTraffic(refused, "prefix_conversion", 200, 300);

        await fixture.elapse(retryAfter(refused) + 30);
        // The window ended: these validations count nowhere.
        for (let i = 0; i < 3; i += 1) await admission.recordConversion(sms({ area: byPrefix }));
        expect((await admit("number-3", byPrefix)).status).toBe("admitted");
        expect((await admit("number-4", byPrefix)).status).toBe("admitted");
        expect((await admit("number-5", byPrefix)).status).toBe("traffic");
      });
    });

    describe("all or nothing", () => {
      /** Limits of one each, so that any charge left behind would refuse the follow-up admit. */
      const tight = {
        idempotency: { key: "idem-1", fingerprint: "fp-1", ttlMs: 60_000 },
        sends: { limit: 1 },
        guesses: { limit: 5, reserve: 5 },
      };
      const strictArea: Partial<TrafficArea> = {
        prefixLimit: { limit: 1, windowMs: 60_000 },
        countryLimit: { limit: 1, windowMs: 60_000 },
        spend: { cost: 5, hourly: 5, daily: 5 },
        // One unvalidated send is enough to refuse the next.
        conversion: { windowMs: 60_000, minRatio: 1, prefixMinSends: 1, countryMinSends: 1 },
      };
      const firstSend = { status: "admitted", sendNumber: 1, reservedGuesses: 5 };

      it("charges nothing when the channel refuses: not the area, the destination or its idempotency key", async () => {
        const { admission } = current();
        const global = { limit: 1, windowMs: 60_000 };
        expect((await admission.admit(request({ scope: "number-0", traffic: sms({ global }) }))).status).toBe("admitted");
        // On Cluster the area is charged before the channel refuses, and given back.
        const refused = await admission.admit(request({ scope: "number-1", ...tight, traffic: sms({ global, area: strictArea }) }));
        expect(refused).toMatchObject({ status: "traffic", rule: "channel_rate" });
        expect(await admission.admit(request({ scope: "number-1", ...tight, traffic: sms({ area: strictArea }) }))).toMatchObject(firstSend);
      });

      it("charges nothing when the last rule refuses: not the destination, its idempotency key, the channel or the area", async () => {
        const { admission } = current();
        const countryConversion = { windowMs: 60_000, minRatio: 0.5, prefixMinSends: 100, countryMinSends: 2 };
        const last: Partial<TrafficArea> = { ...strictArea, prefix: "prefix-c", country: "FR", conversion: countryConversion };
        const global = { limit: 1, windowMs: 60_000 };
        // Two unvalidated sends to the country, by other prefixes and counting nothing else.
        expect((await admit("number-0", { country: "FR", prefix: "prefix-a", conversion: countryConversion })).status).toBe("admitted");
        expect((await admit("number-9", { country: "FR", prefix: "prefix-b", conversion: countryConversion })).status).toBe("admitted");

        const send = request({ scope: "number-1", ...tight, traffic: sms({ global, area: last }) });
        expect(await admission.admit(send)).toMatchObject({ status: "traffic", rule: "country_conversion" });
        await admission.recordConversion(sms({ area: { country: "FR", prefix: "prefix-a", conversion: countryConversion } }));
        expect(await admission.admit(send)).toMatchObject(firstSend);
      });

      it("charges no traffic when the destination refuses or answers from its idempotency key", async () => {
        const { admission } = current();
        const traffic = sms({ global: { limit: 2, windowMs: 60_000 }, area: { prefixLimit: { limit: 2, windowMs: 60_000 } } });
        const idempotency = { key: "idem-1", fingerprint: "fp-1", ttlMs: 60_000 };
        expect((await admission.admit(request({ scope: "number-1", idempotency, sends: { limit: 1 }, traffic }))).status).toBe("admitted");
        expect((await admission.admit(request({ scope: "number-1", idempotency, sends: { limit: 1 }, traffic }))).status).toBe("in_progress");
        expect((await admission.admit(request({ scope: "number-1", sends: { limit: 1 }, traffic }))).status).toBe("send_limit");
        expect((await admission.admit(request({ scope: "number-2", traffic }))).status).toBe("admitted");
        expect((await admission.admit(request({ scope: "number-3", traffic }))).status).toBe("traffic");
      });

      it("admits exactly the channel's limit of 20 concurrent sends to different destinations, charging the area for those alone", async () => {
        const { admission, fixture } = current();
        const admissions = [admission];
        while (admissions.length < 4) admissions.push(await fixture.peer());
        const prefixLimit = { limit: 6, windowMs: 60_000 };
        const traffic = sms({ global: { limit: 5, windowMs: 60_000 }, area: { prefixLimit } });
        const results = await Promise.all(
          Array.from({ length: 20 }, (_, i) => at(admissions, i).admit(request({ scope: `number-${i}`, sends: noWait, traffic }))),
        );
        expect(countStatuses(results)).toEqual({ admitted: 5, traffic: 15 });
        // Five sends on the prefix, not twenty: one more fits, then it is full.
        expect((await admit("number-20", { prefixLimit })).status).toBe("admitted");
        expect((await admit("number-21", { prefixLimit })).status).toBe("traffic");
      });
    });

    describe("refunds", () => {
      const counters = sms({
        global: { limit: 1, windowMs: 60_000 },
        area: {
          prefixLimit: { limit: 1, windowMs: 60_000 },
          countryLimit: { limit: 1, windowMs: 60_000 },
          spend: { cost: 5, hourly: 5, daily: 5 },
          conversion: { windowMs: 60_000, minRatio: 1, prefixMinSends: 1, countryMinSends: 1 },
        },
      });
      const send = (scope: string) => current().admission.admit(request({ scope, traffic: counters }));

      it("gives back every traffic counter a send was charged to", async () => {
        const { admission } = current();
        expect(await send("number-1")).toMatchObject({ status: "admitted", sendNumber: 1, reservedGuesses: 5 });
        expect((await send("number-2")).status).toBe("traffic");
        await admission.refund("number-1", "email", { guesses: 5, sendNumber: 1, traffic: counters });
        expect((await send("number-2")).status).toBe("admitted");
      });

      it("never takes a counter below zero, so a refund creates no credit", async () => {
        const { admission } = current();
        expect((await send("number-1")).status).toBe("admitted");
        for (let i = 0; i < 3; i += 1) await admission.refund("number-1", "email", { guesses: 5, traffic: counters });
        expect((await send("number-2")).status).toBe("admitted");
        expect((await send("number-3")).status).toBe("traffic");
      });
    });
  });
}
