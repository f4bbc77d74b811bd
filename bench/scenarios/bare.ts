import type { Scenario } from "./scenario.js";

/**
 * The ceiling: grpc.health.v1.Health/Check through the same stack as every other RPC (port
 * sniffing, CORS, the interceptors, JWT verification of the bearer token) but no storage.
 */
export const bare: Scenario = {
  name: "bare",
  rpcsPerRound: 1,
  summary: "Health/Check with a bearer token: the server stack without storage (the ceiling)",
  async prepare({ pool }) {
    return {
      notes: {},
      round: async (recorder, slot) => {
        const client = pool.clients[slot % pool.clients.length]!;
        await recorder.call(() => client.check());
      },
    };
  },
};
