import { VerificationMethod } from "../../gen/onetime/v1/verification_service_pb.js";
import type { BenchClient } from "../clients/types.js";
import type { Recorder } from "../loadGenerator.js";
import { nextEmailConsumer, type Scenario } from "./scenario.js";

/** The code the bench forces, so it need not read the console channel's output. */
export const forcedCode = "482913";

export function missingVerification(): Error {
  return new Error("InitiateVerification answered without a verification");
}

/** Starts an email verification with the forced code for a fresh consumer; returns its id. */
export async function startEmailVerification(recorder: Recorder, client: BenchClient): Promise<string> {
  const consumer = nextEmailConsumer();
  const started = await recorder.call(() => client.initiate({ method: VerificationMethod.EMAIL, consumer, policy: { forcedCode } }));
  const verificationId = started.verification?.verificationId;
  if (verificationId === undefined) throw missingVerification();
  return verificationId;
}

/**
 * InitiateVerification (EMAIL to a new consumer, policy.forced_code, the console channel behind
 * the outbox) then ValidateVerification with the right code.
 */
export const verificationRoundtrip: Scenario = {
  name: "verification-roundtrip",
  rpcsPerRound: 2,
  summary: "InitiateVerification (email, forced code) + ValidateVerification (right code)",
  async prepare({ pool }) {
    return {
      notes: {},
      round: async (recorder, slot) => {
        const client = pool.clients[slot % pool.clients.length]!;
        const verificationId = await startEmailVerification(recorder, client);
        await recorder.call(() => client.validate({ verificationId, code: forcedCode }));
      },
    };
  },
};
