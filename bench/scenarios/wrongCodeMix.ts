import { Code } from "@connectrpc/connect";
import { isFailure } from "../clients/failure.js";
import type { Scenario } from "./scenario.js";
import { forcedCode, startEmailVerification } from "./verificationRoundtrip.js";

const wrongCode = "000000";

/**
 * A 50/50 mix of wrong and right codes: each round initiates, validates a wrong code (which must
 * be refused as invalid_argument WRONG_CODE: an expected failure, not an error), then the right
 * one. Half of the validations fail on purpose and every verification still ends completed.
 */
export const wrongCodeMix: Scenario = {
  name: "wrong-code-mix",
  rpcsPerRound: 3,
  summary: "InitiateVerification + ValidateVerification wrong code (expected WRONG_CODE) + right code",
  async prepare({ pool }) {
    const refused = (error: unknown) => isFailure(error, Code.InvalidArgument, "WRONG_CODE");
    return {
      notes: {},
      round: async (recorder, slot) => {
        const client = pool.clients[slot % pool.clients.length]!;
        const verificationId = await startEmailVerification(recorder, client);
        await recorder.callExpectingFailure(() => client.validate({ verificationId, code: wrongCode }), refused);
        await recorder.call(() => client.validate({ verificationId, code: forcedCode }));
      },
    };
  },
};
