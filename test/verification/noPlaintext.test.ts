import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { VerificationMethod } from "../../gen/onetime/v1/verification_service_pb.js";
import { connectTestRedis, scanKeys } from "../support/redis.js";
import { startTestServer, type TestServer } from "../support/server.js";
import { verificationClient } from "../support/verificationClient.js";

describe("what Redis holds", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer("real", "plaintext", { OUTBOX_POLL_INTERVAL_MS: "60000" });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it("has no code and no consumer address in any key or value after 1,000 initiations", async () => {
    const client = await verificationClient(server.url);
    // Forced codes take the same path as generated ones and are easy to search for.
    const code = (i: number) => `Pl41n${String(i).padStart(4, "0")}`;
    for (let batch = 0; batch < 10; batch++) {
      await Promise.all(
        Array.from({ length: 100 }, (_, j) => {
          const i = batch * 100 + j;
          return client.initiateVerification({ method: VerificationMethod.EMAIL, consumer: `secret-person-${i}@example.com`, policy: { forcedCode: code(i) } });
        }),
      );
    }
    const redis = await connectTestRedis();
    try {
      const prefix = server.config.ttlStore.kind === "redis" ? server.config.ttlStore.keyPrefix : "";
      const keys = await scanKeys(redis, `${prefix}*`);
      expect(keys.length).toBeGreaterThanOrEqual(1_000);
      const dump: string[] = [...keys];
      for (const key of keys) {
        const type = await redis.type(key);
        if (type === "hash") dump.push(...Object.values(await redis.hgetall(key)));
        else if (type === "string") dump.push((await redis.get(key)) ?? "");
      }
      const everything = dump.join("\n");
      expect(everything).not.toMatch(/Pl41n\d{4}/);
      // Consumers appear only inside verification records (which Get must return), never in key names.
      expect(keys.join("\n")).not.toContain("secret-person");
    } finally {
      redis.disconnect();
    }
  }, 120_000);
});
