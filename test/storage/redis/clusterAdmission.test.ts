import { describe, expect, it } from "vitest";
import { StoreWork } from "../../../src/domain/storeWork.js";
import { RedisDeadlinePassed } from "../../../src/storage/workDeadline.js";
import { admitSlotBySlot, type SlotScripts } from "../../../src/storage/redis/clusterAdmission.js";
import { trafficPlan } from "../../../src/storage/trafficPlan.js";
import { request, sms } from "../sendLimitRequests.js";

/*
 * The Cluster admit's undo when Redis stops answering partway, with the replies its scripts give
 * (clusterStores.test.ts runs the same code on a real Cluster, where a step
 * cannot be made to fail on cue). What the undo could not give back is told once, by name.
 */

const smsRequest = request({ traffic: sms({ global: { limit: 10, windowMs: 60_000 }, area: { prefixLimit: { limit: 10, windowMs: 60_000 } } }) });
const plan = trafficPlan(smsRequest.traffic);
const admitted = ["admitted", 1, 0, 5];
const gone = () => Promise.reject(new RedisDeadlinePassed(2_000));

function scripts(overrides: Partial<SlotScripts>): SlotScripts {
  return {
    admit: async () => admitted,
    admitTraffic: async () => ["admitted"],
    refund: async () => 1,
    refundTraffic: async () => 1,
    ...overrides,
  };
}

describe("a Cluster admit's undo", () => {
  it("tells once what a failed step's undo could not give back, and answers the step's error", async () => {
    const told: (readonly string[])[] = [];
    const failing = scripts({ admitTraffic: () => Promise.reject(new Error("Command timed out")), refund: gone });
    await expect(admitSlotBySlot(failing, "p:", smsRequest, plan, (left) => told.push(left), new StoreWork())).rejects.toThrow("Command timed out");
    expect(told).toEqual([["destination"]]);
  });

  it("answers a refusal even when its undo could not run, telling what was left charged", async () => {
    const told: (readonly string[])[] = [];
    let step = 0;
    const refusing = scripts({
      // The area admits, the channel refuses; then Redis is gone for the area's undo.
      admitTraffic: async () => (step++ === 0 ? ["admitted"] : ["traffic", "channel_rate", 1_000]),
      refundTraffic: gone,
    });
    expect(await admitSlotBySlot(refusing, "p:", smsRequest, plan, (left) => told.push(left), new StoreWork())).toEqual({ status: "traffic", rule: "channel_rate", retryAfterMs: 1_000 });
    expect(told).toEqual([["area"]]);
  });

  it("tells nothing when every undo ran", async () => {
    const told: (readonly string[])[] = [];
    const failing = scripts({ admitTraffic: () => Promise.reject(new Error("Command timed out")) });
    await expect(admitSlotBySlot(failing, "p:", smsRequest, plan, (left) => told.push(left), new StoreWork())).rejects.toThrow("Command timed out");
    expect(told).toEqual([]);
  });
});
