import { exportPKCS8, generateKeyPair } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Channel } from "../../../src/channels/channel.js";
import type { PushProvider } from "../../../src/domain/destinations/pushTarget.js";
import type { PushMessage } from "../../../src/domain/messages/outboundMessage.js";
import { createPushChannel } from "../../../src/channels/push/pushChannel.js";
import { ApnsStandIn } from "./apnsStandIn.js";

const keyId = "ABC123DEFG";
const teamId = "TEAM123456";

function message(provider: PushProvider, deviceToken: string): PushMessage {
  return { kind: "push", to: { provider, deviceToken }, title: "t", body: "b", data: { token: "act_secret" } };
}

const never = () => new AbortController().signal;

describe("the push channel", () => {
  let apns: ApnsStandIn;
  let channel: Channel<"push">;

  beforeAll(async () => {
    const { publicKey, privateKey } = await generateKeyPair("ES256", { extractable: true });
    apns = await ApnsStandIn.start({ publicKey, keyId, teamId, now: Date.now });
    channel = createPushChannel({
      apns: { keyId, teamId, privateKey: await exportPKCS8(privateKey), topic: "org.example.app", sandboxUrl: apns.url, productionUrl: apns.url },
    });
  });
  afterAll(async () => {
    await channel.close();
    await apns.close();
  });

  it("names the providers it was given", () => {
    expect(channel.kind).toBe("push");
    expect(channel.provider).toBe("apns");
    expect(createPushChannel({}).provider).toBe("none");
  });

  it("rejects a provider this server has no credentials for", async () => {
    expect(await channel.send(message("fcm", "abc"), never())).toEqual({
      status: "rejected",
      reason: "push provider fcm is not configured on this server",
    });
    expect(await createPushChannel({}).send(message("apns.dev", "abc"), never())).toEqual({
      status: "rejected",
      reason: "push provider apns.dev is not configured on this server",
    });
  });

  it("checks the target before anything reaches the provider", async () => {
    const outcome = await channel.send(message("apns", "../../admin"), never());
    expect(outcome).toEqual({ status: "rejected", reason: "pn_prid may contain only letters, digits, dashes, underscores and colons" });
    const unknown = { ...message("apns", "abc"), to: { provider: "gcm", deviceToken: "abc" } } as unknown as PushMessage;
    expect((await channel.send(unknown, never())).status).toBe("rejected");
    expect(apns.requests).toHaveLength(0);
  });

  it("refuses to send after close", async () => {
    const { privateKey } = await generateKeyPair("ES256", { extractable: true });
    const closing = createPushChannel({
      apns: { keyId, teamId, privateKey: await exportPKCS8(privateKey), topic: "org.example.app", productionUrl: apns.url },
    });
    await closing.close();
    expect(await closing.send(message("apns", "ab".repeat(32)), never())).toEqual({ status: "failed", reason: "APNs client is closed" });
  });
});
