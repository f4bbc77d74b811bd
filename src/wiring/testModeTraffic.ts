import type { TestDestinations } from "../channels/testMode/testDestinations.js";
import type { GuessPool } from "../domain/secrets/oneTimeSecrets.js";
import type { TrafficRequest } from "../domain/secrets/sendLimits.js";
import type { DescribeNumber } from "../domain/traffic/numberFacts.js";
import { TrafficPolicy, type Medium } from "../domain/traffic/trafficPolicy.js";
import type { TrafficRules } from "../domain/traffic/trafficRules.js";

/**
 * Test mode's traffic (docs/test-mode.md, "Limits"): a test destination's sends count on a pool
 * of their own under none of the channel-wide rules (per-minute caps, prefix and country rates,
 * spend, conversion), which a CI run sending hundreds of codes to +1 415 555-01xx would trip and
 * which no provider is paid for. They never touch the counters real destinations are judged by,
 * and every other destination is judged exactly as without test mode. The destination policy
 * (countries, number types) and each destination's own send limits and guesses still apply.
 */
export class TestModeTrafficPolicy extends TrafficPolicy {
  constructor(
    rules: TrafficRules,
    describe: DescribeNumber,
    prefixHash: (prefix: string) => string,
    private readonly destinations: TestDestinations,
  ) {
    super(rules, describe, prefixHash);
  }

  override trafficOf(medium: Medium, address: string, pool: GuessPool): TrafficRequest {
    if (!this.destinations.isTestAddress(medium, address)) return super.trafficOf(medium, address, pool);
    this.checkDestination(medium, address);
    return { channel: medium, pool: "test" };
  }
}
