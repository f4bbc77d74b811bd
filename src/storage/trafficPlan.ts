import { dayMs, hourMs, type TrafficRequest, type TrafficRule } from "../domain/secrets/sendLimits.js";
import { areaTrafficKeys, channelTrafficKey } from "./sendLimitKeyspace.js";

/*
 * A TrafficRequest as the list of counters it checks and charges, in the order of the checks, so
 * both backends (and every Redis script, single or per Cluster slot) read the rules the same way.
 * A counter is kept only where a limit reads it: an absent limit neither checks nor charges.
 */


/** A counter in a fixed window: refuses when used + amount > cap; an admit adds amount. */
export interface TrafficCounter {
  readonly name: string;
  readonly rule: TrafficRule;
  /** What a send adds: 1, or its cost. */
  readonly amount: number;
  readonly cap: number;
  readonly windowMs: number;
}

/** Sends and validations in a fixed window: refuses when sends >= minSends and validated < minRatio × sends. */
export interface ConversionGuard {
  readonly name: string;
  readonly rule: TrafficRule;
  readonly minSends: number;
  readonly minRatio: number;
  readonly windowMs: number;
}

export interface TrafficChecks {
  readonly counters: readonly TrafficCounter[];
  readonly conversions: readonly ConversionGuard[];
}

/** The checks by where they live: the channel's (tagged by channel) and the area's (by channel and country). */
export interface TrafficPlan {
  readonly channel: TrafficChecks;
  readonly area: TrafficChecks;
}

const none: TrafficChecks = { counters: [], conversions: [] };

export function trafficPlan(traffic: TrafficRequest | undefined): TrafficPlan {
  if (traffic === undefined) return { channel: none, area: none };
  const channel: TrafficChecks =
    traffic.global === undefined
      ? none
      : { counters: [{ name: channelTrafficKey(traffic.channel, traffic.pool), rule: "channel_rate", amount: 1, cap: traffic.global.limit, windowMs: traffic.global.windowMs }], conversions: [] };
  const area = traffic.area;
  if (area === undefined) return { channel, area: none };

  const keys = areaTrafficKeys(traffic.channel, area.country, area.prefix, traffic.pool);
  const counters: TrafficCounter[] = [];
  if (area.prefixLimit !== undefined) {
    counters.push({ name: keys.prefix, rule: "prefix_rate", amount: 1, cap: area.prefixLimit.limit, windowMs: area.prefixLimit.windowMs });
  }
  if (area.countryLimit !== undefined) {
    counters.push({ name: keys.country, rule: "country_rate", amount: 1, cap: area.countryLimit.limit, windowMs: area.countryLimit.windowMs });
  }
  const spend = area.spend;
  if (spend?.hourly !== undefined) counters.push({ name: keys.spendHour, rule: "hourly_budget", amount: spend.cost, cap: spend.hourly, windowMs: hourMs });
  if (spend?.daily !== undefined) counters.push({ name: keys.spendDay, rule: "daily_budget", amount: spend.cost, cap: spend.daily, windowMs: dayMs });

  const conversion = area.conversion;
  const conversions: ConversionGuard[] =
    conversion === undefined
      ? []
      : [
          { name: keys.conversionPrefix, rule: "prefix_conversion", minSends: conversion.prefixMinSends, minRatio: conversion.minRatio, windowMs: conversion.windowMs },
          { name: keys.conversionCountry, rule: "country_conversion", minSends: conversion.countryMinSends, minRatio: conversion.minRatio, windowMs: conversion.windowMs },
        ];
  return { channel, area: { counters, conversions } };
}

/** Every check of the plan in the order admit runs them: the channel's first, then the area's. */
export function allChecks(plan: TrafficPlan): TrafficChecks {
  return {
    counters: [...plan.channel.counters, ...plan.area.counters],
    conversions: [...plan.channel.conversions, ...plan.area.conversions],
  };
}

export function isEmpty(checks: TrafficChecks): boolean {
  return checks.counters.length === 0 && checks.conversions.length === 0;
}
