import { randomUUID } from "node:crypto";
import { TokenOperation } from "../../gen/onetime/v1/token_service_pb.js";
import { smsSink } from "../server/smsSink.js";
import type { Scenario } from "./scenario.js";

/** A phone number per round (10,000 before one repeats), so no two rounds in flight share one. */
let phoneCounter = 0;
function nextPhone(): string {
  phoneCounter = (phoneCounter + 1) % 10_000;
  return `+1415555${String(phoneCounter).padStart(4, "0")}`;
}

/**
 * RequestRegistrationToken (SMS, a profile lookup by the number's keyed hash, admission and the OTT
 * with its message in Redis) then ConsumeToken with the OTT the stand-in SMS provider received.
 * A round's latency includes the delivery between the two calls (secret relay -> webhook).
 */
export const tokenRequestConsume: Scenario = {
  name: "token-request-consume",
  rpcsPerRound: 2,
  summary: "RequestRegistrationToken (SMS to a new number, read back from a stand-in provider) + ConsumeToken",
  async prepare({ pool }) {
    const sink = await smsSink();
    return {
      notes: {},
      round: async (recorder, slot) => {
        const client = pool.clients[slot % pool.clients.length]!;
        const phone = nextPhone();
        const processingId = randomUUID();
        const code = sink.nextCode(phone);
        // A failed request ends the round; its code never comes, and the wait is dropped.
        code.catch(() => undefined);
        await recorder.call(() => client.requestRegistrationToken({ processingId, key: { key: { case: "phoneNumber", value: phone } } }));
        const token = await code;
        await recorder.call(() => client.consumeToken({ operation: TokenOperation.REGISTRATION, token, processingId }));
      },
    };
  },
};
