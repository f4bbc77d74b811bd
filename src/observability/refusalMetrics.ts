import { Counter, Gauge, type Registry } from "prom-client";
import type { Refusal, SendRefusals } from "../domain/secrets/sendRefusals.js";
import type { Logger } from "./logger.js";

/** How often, at most, a spent budget is warned about per country and window while refusals go on. */
const warnEveryMs = 60_000;

/**
 * Refusals by the abuse controls, for operators: `onetime_send_refusals_total{rule,channel,country}`
 * counts every one (rule as the domain names it), and while an SMS budget is spent
 * `onetime_sms_budget_exhausted{country,window}` is 1 and a warning is logged once a minute.
 * Served on the metrics listener only: never to a caller.
 */
export function refusalMetrics(registry: Registry, logger: Logger, now: () => number = Date.now): SendRefusals {
  const refusals = new Counter({
    name: "onetime_send_refusals_total",
    help: "Sends refused by an abuse control: destination policy, traffic caps, spend, conversion, send and guess limits, per-caller limits.",
    labelNames: ["rule", "channel", "country"],
    registers: [registry],
  });
  /** Until when each country's budget refuses, by "country window", as the last refusal said. */
  const spentUntil = new Map<string, number>();
  const warnedAt = new Map<string, number>();
  new Gauge({
    name: "onetime_sms_budget_exhausted",
    help: "1 while a country's hourly or daily SMS budget is spent (as this process last heard from the store).",
    labelNames: ["country", "window"],
    registers: [registry],
    // Every worker hears of the same spent budget: one, not one per worker.
    aggregator: "max",
    collect() {
      this.reset();
      const at = now();
      for (const [key, until] of spentUntil) {
        if (until <= at) {
          spentUntil.delete(key);
          continue;
        }
        const [country = "", window = ""] = key.split(" ");
        this.set({ country, window }, 1);
      }
    },
  });

  return {
    refused(refusal: Refusal) {
      const country = refusal.country ?? "";
      refusals.inc({ rule: refusal.rule, channel: refusal.channel, country });
      if (refusal.rule !== "hourly_budget" && refusal.rule !== "daily_budget") return;
      const window = refusal.rule === "hourly_budget" ? "hour" : "day";
      const key = `${country} ${window}`;
      const at = now();
      spentUntil.set(key, at + (refusal.retryAfterMs ?? 0));
      if ((warnedAt.get(key) ?? -Infinity) + warnEveryMs > at) return;
      warnedAt.set(key, at);
      logger.warn({ country, window, retryAfterSeconds: Math.ceil((refusal.retryAfterMs ?? 0) / 1000) }, "SMS budget spent: SMS to this country is refused until the window ends");
    },
  };
}
