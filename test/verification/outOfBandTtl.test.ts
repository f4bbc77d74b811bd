import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { VerificationMethod } from "../../gen/onetime/v1/verification_service_pb.js";
import { backends, startTestServer, type TestServer } from "../support/server.js";
import { failure, verificationClient, type VerificationClient } from "../support/verificationClient.js";

// NIST SP 800-63B: an out-of-band code works for at most 10 minutes; the server's default maximum.
describe.each(backends)("how long a caller may ask a code to work (%s backends)", (backend) => {
  let server: TestServer;
  let client: VerificationClient;

  beforeAll(async () => {
    server = await startTestServer(backend, "out_of_band_ttl");
    client = await verificationClient(server.url);
  });
  afterAll(async () => {
    await server?.stop();
  });

  const initiate = (seconds: bigint) =>
    client.initiateVerification({ method: VerificationMethod.EMAIL, consumer: `ttl-${seconds}-${Date.now()}@example.com`, policy: { timeToLive: { seconds } } });

  it("refuses a day-long code, naming the field and the 600 s maximum, and issues one of 10 minutes", async () => {
    const refused = await failure(initiate(86_400n));
    expect(refused).toMatchObject({ code: Code.InvalidArgument, fields: ["policy.time_to_live"] });
    expect(refused.message).toContain("at most 600 s");
    expect((await failure(initiate(601n))).fields).toEqual(["policy.time_to_live"]);
    const issued = await initiate(600n);
    const lifetimeMs = Number(issued.verification!.expireTime!.seconds) * 1000 - Date.now();
    expect(lifetimeMs).toBeGreaterThan(590_000);
    expect(lifetimeMs).toBeLessThanOrEqual(601_000);
  });
});
