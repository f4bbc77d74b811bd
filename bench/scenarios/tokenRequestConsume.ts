import { randomUUID } from "node:crypto";
import { TokenOperation } from "../../gen/onetime/v1/token_service_pb.js";
import { smsSink } from "../server/smsSink.js";
import type { BenchClient } from "../clients/types.js";
import type { Recorder } from "../loadGenerator.js";
import type { Scenario } from "./scenario.js";

/** A phone number per round (10,000 before one repeats), so no two rounds in flight share one. */
let phoneCounter = 0;
function nextPhone(): string {
  phoneCounter = (phoneCounter + 1) % 10_000;
  return `+1415555${String(phoneCounter).padStart(4, "0")}`;
}

/** An OTT requested by one round, consumed by the slot's next round. */
interface Requested {
  readonly processingId: string;
  readonly code: Promise<string>;
}

/**
 * RequestRegistrationToken (SMS, a profile lookup by the number's keyed hash, admission and the OTT
 * with its message in Redis) then ConsumeToken with an OTT the stand-in SMS provider received.
 * Each round requests one OTT and consumes the one its slot requested the round before, which
 * has arrived by then: the delivery (secret relay -> webhook) runs on the server as it would, but
 * its latency is not a wait inside the loop, as a user's reading time would not be.
 */
export const tokenRequestConsume: Scenario = {
  name: "token-request-consume",
  rpcsPerRound: 2,
  summary: "RequestRegistrationToken (SMS to a new number, read back from a stand-in provider) + ConsumeToken of the slot's previous OTT",
  async prepare({ pool }) {
    const sink = await smsSink();
    const previous = new Map<number, Requested>();
    const request = async (recorder: Recorder, client: BenchClient): Promise<Requested> => {
      const phone = nextPhone();
      const processingId = randomUUID();
      const code = sink.nextCode(phone);
      // A failed request ends the round; its code never comes, and the wait is dropped.
      code.catch(() => undefined);
      await recorder.call(() => client.requestRegistrationToken({ processingId, key: { key: { case: "phoneNumber", value: phone } } }));
      return { processingId, code };
    };
    return {
      notes: {},
      round: async (recorder, slot) => {
        const client = pool.clients[slot % pool.clients.length]!;
        const earlier = previous.get(slot);
        previous.delete(slot);
        const requested = await request(recorder, client);
        previous.set(slot, requested);
        // A slot's first round (in the warm-up) has nothing to consume yet.
        if (earlier === undefined) return;
        const token = await earlier.code;
        await recorder.call(() => client.consumeToken({ operation: TokenOperation.REGISTRATION, token, processingId: earlier.processingId }));
      },
    };
  },
};
