import { setTimeout as sleep } from "node:timers/promises";
import { performance } from "node:perf_hooks";
import { VerificationMethod } from "../../gen/onetime/v1/verification_service_pb.js";
import type { Scenario } from "./scenario.js";
import { totpCode } from "./totpConsumers.js";
import { missingVerification } from "./verificationRoundtrip.js";

/** When no similar scenario has run on this server, assume this many rounds per second. */
const fallbackRate = 500;
/** Head room over the expected rate: a pool that runs dry stalls rounds and shows as errors. */
const headroom = 1.25;
const maxPool = 20_000;

/**
 * TOTP validate for enrolled consumers: InitiateVerification TOTP (no URI once active) then
 * ValidateVerification with the current code from the known secret. The replay guard accepts a
 * step once per consumer, so the run rotates through a pool sized from the expected rate
 * (enrolled before the run, not measured, topped up from earlier runs on the same server).
 */
export const totpValidate: Scenario = {
  name: "totp-validate",
  rpcsPerRound: 2,
  summary: "InitiateVerification TOTP (enrolled consumer) + ValidateVerification (current code)",
  async prepare({ pool, plannedSeconds, expectedRoundsPerSecond, totpConsumers }) {
    const expected = expectedRoundsPerSecond ?? fallbackRate;
    const needed = Math.min(maxPool, Math.ceil(expected * plannedSeconds * headroom) + 64);
    const available = totpConsumers.availableNow();
    const toEnrol = Math.max(0, needed - available);
    const enrolStarted = performance.now();
    if (toEnrol > 0) await totpConsumers.enrol(pool, toEnrol, 32);
    let stalls = 0;
    return {
      notes: {
        consumersNeeded: needed,
        consumersReused: Math.min(available, needed),
        consumersEnrolled: toEnrol,
        enrolSeconds: Math.round(performance.now() - enrolStarted) / 1000,
      },
      after: () => ({ poolStalls: stalls }),
      round: async (recorder, slot) => {
        const client = pool.clients[slot % pool.clients.length]!;
        const taken = totpConsumers.take();
        if (taken === undefined) {
          stalls++;
          await sleep(50);
          throw new Error("every enrolled TOTP consumer has used this time step: the pool was too small");
        }
        const code = await totpCode(taken.secret, taken.step);
        const started = await recorder.call(() => client.initiate({ method: VerificationMethod.TOTP, consumer: taken.consumer }));
        const verificationId = started.verification?.verificationId;
        if (verificationId === undefined) throw missingVerification();
        await recorder.call(() => client.validate({ verificationId, code }));
      },
    };
  },
};
