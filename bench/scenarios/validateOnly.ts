import { Code } from "@connectrpc/connect";
import { VerificationMethod } from "../../gen/onetime/v1/verification_service_pb.js";
import { isFailure } from "../clients/failure.js";
import type { Scenario } from "./scenario.js";
import { forcedCode, missingVerification } from "./verificationRoundtrip.js";
import { nextEmailConsumer } from "./scenario.js";

const wrongCode = "000000";
/** Validations per verification: nine wrong codes, then the right one (max_attempts is 10). */
const validationsPerVerification = 10;
/** Validations per second the pool is sized for: above what one worker serves on this stack. */
const sizedForPerSecond = 6_000;
const prepareConcurrency = 32;

/**
 * ValidateVerification alone: every round is one validation, against verifications started
 * before the run. Each takes nine wrong codes (expected WRONG_CODE failures) and then the right
 * one, so the store's compare-and-count path and its consume path are both measured. Should the
 * pool run out, the round validates an ended verification (expected NOT_FOUND), and the notes say
 * how often that happened.
 */
export const validateOnly: Scenario = {
  name: "validate-only",
  rpcsPerRound: 1,
  summary: "ValidateVerification alone: 9 wrong codes (expected WRONG_CODE), then the right one, per verification started before the run",
  async prepare({ pool, plannedSeconds }) {
    const size = Math.ceil((sizedForPerSecond * plannedSeconds) / validationsPerVerification);
    const ids: string[] = [];
    let next = 0;
    const start = async (slot: number) => {
      const client = pool.clients[slot % pool.clients.length]!;
      while (next++ < size) {
        const started = await client.initiate({
          method: VerificationMethod.EMAIL,
          consumer: nextEmailConsumer(),
          policy: { forcedCode, maxAttempts: validationsPerVerification },
        });
        const id = started.verification?.verificationId;
        if (id === undefined) throw missingVerification();
        ids.push(id);
      }
    };
    await Promise.all(Array.from({ length: prepareConcurrency }, (_, slot) => start(slot)));

    // Each slot runs its rounds one after another and works through a verification of its own,
    // so a verification's nine wrong codes always come before its right one.
    let nextIndex = 0;
    let exhausted = 0;
    const current = new Map<number, { index: number; validations: number }>();
    const wrong = (error: unknown) => isFailure(error, Code.InvalidArgument, "WRONG_CODE");
    const ended = (error: unknown) => isFailure(error, Code.NotFound, "VERIFICATION_NOT_FOUND");
    return {
      notes: { verificationsStarted: ids.length },
      after: () => ({ roundsPastThePool: exhausted }),
      round: async (recorder, slot) => {
        const client = pool.clients[slot % pool.clients.length]!;
        let mine = current.get(slot);
        if (mine === undefined || mine.validations === validationsPerVerification) {
          mine = { index: nextIndex++, validations: 0 };
          current.set(slot, mine);
        }
        const validation = mine.validations++;
        if (mine.index >= ids.length) {
          exhausted++;
          await recorder.callExpectingFailure(() => client.validate({ verificationId: ids[0]!, code: forcedCode }), ended);
          return;
        }
        const verificationId = ids[mine.index]!;
        if (validation === validationsPerVerification - 1) {
          await recorder.call(() => client.validate({ verificationId, code: forcedCode }));
        } else {
          await recorder.callExpectingFailure(() => client.validate({ verificationId, code: wrongCode }), wrong);
        }
      },
    };
  },
};
