import { AuthTokenState } from "../../gen/onetime/v1/account_token_service_pb.js";
import type { Scenario } from "./scenario.js";

/**
 * Seed 003's device pairing: CreateAuthToken (public), AttachAuthToken (a signed-in account; it
 * also publishes the wake-up for watchers), RedeemAuthToken (public, the device, with its secret).
 */
export const authToken: Scenario = {
  name: "auth-token",
  rpcsPerRound: 3,
  summary: "auth token: create, attach, redeem",
  async prepare({ pool }) {
    return {
      notes: {},
      round: async (recorder, slot) => {
        const calls = pool.clients[slot % pool.clients.length]!.accountTokens;
        const created = await recorder.call(() => calls.createAuthToken());
        await recorder.call(() => calls.attach({ authToken: created.authToken?.token ?? "" }));
        const redeemed = await recorder.call(() => calls.redeem({ deviceSecret: created.deviceSecret }));
        if (redeemed.state !== AuthTokenState.REDEEMED) throw new Error(`RedeemAuthToken answered state ${redeemed.state}`);
      },
    };
  },
};
