import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { VerificationMethod } from "../../gen/onetime/v1/verification_service_pb.js";
import type { Actor } from "../../src/domain/actor.js";
import { createSecretBox, parseEncryptionKeys } from "../../src/crypto/secretBox.js";
import { backends, startTestServer, type TestServer } from "../support/server.js";
import { connectTestRedis, deleteKeysWithPrefix } from "../support/redis.js";
import { testEncryptionKeys } from "../support/tokens.js";
import { failure, verificationClient, type VerificationClient } from "../support/verificationClient.js";

// RFC 6238 appendix B: SHA1, the ASCII secret "12345678901234567890", 6 of the 8 digits.
const rfcSecret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
/** Who enrols the secrets tests start from, as the audit trail records it. */
const setupActor: Actor = { kind: "admin", subject: "test-setup" };

const rfcVectors: Array<[seconds: number, code: string]> = [
  [59, "287082"],
  [1111111109, "081804"],
  [1111111111, "050471"],
  [1234567890, "005924"],
  [2000000000, "279037"],
  [20000000000, "353130"],
];

describe.each(backends)("TOTP verifications (%s backends)", (backend) => {
  let server: TestServer;
  let client: VerificationClient;
  let clock = Date.now();

  beforeAll(async () => {
    server = await startTestServer(backend, "totp", { VERIFICATION_SEND_LIMIT: "100", VERIFICATION_GUESS_LIMIT: "1000" }, { now: () => clock });
    client = await verificationClient(server.url);
  });
  afterAll(async () => {
    await server?.stop();
  });

  /** Enrols a consumer with a known secret, as if it had scanned a QR code long ago. */
  async function enrolKnownSecret(consumer: string): Promise<void> {
    const box = createSecretBox(parseEncryptionKeys(testEncryptionKeys));
    const { totpSecrets } = server.server.app.stores;
    await totpSecrets.enrol(consumer, box.seal(rfcSecret, `totp:${consumer}`), box.activeKeyId);
    await totpSecrets.markUsed(consumer, 0, setupActor);
  }

  /** The audit rows a caller's calls wrote; `named`: whether the row's subject holds the consumer. */
  async function auditedBy(principalSubject: string, consumer: string) {
    const rows = await server.server.app.stores
      .db("audit_events")
      .where({ principal_subject: principalSubject })
      .orderBy("id")
      .select<{ action: string; principal_kind: string; outcome: string; request_id: string; subject: string }[]>(
        "action",
        "principal_kind",
        "outcome",
        "request_id",
        "subject",
      );
    return rows.map(({ subject, ...row }) => ({ ...row, named: subject.includes(consumer) }));
  }

  async function validateAt(consumer: string, seconds: number, code: string, removeSecret = false) {
    clock = seconds * 1000;
    const { verification } = await client.initiateVerification({ method: VerificationMethod.TOTP, consumer });
    return client.validateVerification({ verificationId: verification!.verificationId, code, removeSecret });
  }

  it("accepts the RFC 6238 vectors on their clock", async () => {
    const consumer = `rfc-${backend}`;
    await enrolKnownSecret(consumer);
    for (const [seconds, code] of rfcVectors) {
      const validated = await validateAt(consumer, seconds, code);
      expect(validated.verification?.consumer).toBe(consumer);
    }
  });

  it("accepts a code one step either side, refuses two, and never accepts a used step again", async () => {
    const consumer = `window-${backend}`;
    await enrolKnownSecret(consumer);
    // 081804 belongs to t=1111111109 (step 37037036).
    await expect(validateAt(consumer, 1111111109 - 30, "081804")).resolves.toBeDefined(); // code is one step ahead
    expect(await failure(validateAt(consumer, 1111111109, "081804"))).toMatchObject({ code: Code.InvalidArgument, reason: "WRONG_CODE" }); // replay
    // 050471 is step 37037037; from two steps away it is refused, from one step it is accepted.
    expect(await failure(validateAt(consumer, 1111111111 + 60, "050471"))).toMatchObject({ reason: "WRONG_CODE" });
    await expect(validateAt(consumer, 1111111111 + 30, "050471")).resolves.toBeDefined();
  });

  it("enrols with a temporary secret, replaces it until a code is validated, then keeps it", async () => {
    clock = Date.now();
    const consumer = `enrol-${backend}`;
    const first = await client.initiateVerification({ method: VerificationMethod.TOTP, consumer, issuer: "Acme" });
    const uri = new URL(first.totpUri);
    expect(uri.protocol).toBe("otpauth:");
    expect(uri.searchParams.get("issuer")).toBe("Acme");
    expect(uri.searchParams.get("algorithm")).toBe("SHA1");
    expect(uri.searchParams.get("digits")).toBe("6");
    expect(uri.searchParams.get("period")).toBe("30");
    const secret = uri.searchParams.get("secret")!;
    expect(Buffer.from(secret, "utf8").length).toBeGreaterThanOrEqual(32); // >= 20 bytes in base32

    const second = await client.initiateVerification({ method: VerificationMethod.TOTP, consumer });
    const replaced = new URL(second.totpUri).searchParams.get("secret")!;
    expect(replaced).not.toBe(secret);

    const { generate } = await import("otplib");
    const code = await generate({ secret: replaced, epoch: Math.floor(clock / 1000) });
    await client.validateVerification({ verificationId: second.verification!.verificationId, code }, { headers: { "x-request-id": `enrol-request-${backend}` } });

    const third = await client.initiateVerification({ method: VerificationMethod.TOTP, consumer });
    expect(third.totpUri).toBe("");

    // The secret is kept sealed and the consumer only as a keyed hash: neither appears in any row.
    const dump = await server.server.app.stores.db.raw<{ rows: { row: string }[] }>("select t::text as row from totp_secrets t");
    expect(dump.rows.length).toBeGreaterThan(0);
    expect(dump.rows.map((each) => each.row).join("\n")).not.toContain(replaced);
    expect(dump.rows.map((each) => each.row).join("\n")).not.toContain(consumer);

    // The first valid code made it permanent: audited, by the caller, not naming the consumer.
    expect(await auditedBy("billing-backend", consumer)).toEqual([
      { action: "totp.enrolled", principal_kind: "service", outcome: "ok", request_id: `enrol-request-${backend}`, named: false },
    ]);
  });

  it("removes the secret after a valid code when asked (turning 2FA off)", async () => {
    const consumer = `remove-${backend}`;
    await enrolKnownSecret(consumer);
    await validateAt(consumer, 1234567890, "005924", true);
    expect(await server.server.app.stores.totpSecrets.find(consumer)).toBeNull();
    expect((await auditedBy("billing-backend", consumer)).filter((row) => row.action === "totp.removed")).toEqual([
      { action: "totp.removed", principal_kind: "service", outcome: "ok", request_id: expect.stringMatching(/^[0-9a-f-]{36}$/), named: false },
    ]);
    clock = Date.now();
    const next = await client.initiateVerification({ method: VerificationMethod.TOTP, consumer });
    expect(next.totpUri).not.toBe(""); // enrolling again
  });

  it("refuses a wrong code and counts it", async () => {
    const consumer = `wrong-${backend}`;
    await enrolKnownSecret(consumer);
    clock = 59_000;
    const { verification } = await client.initiateVerification({ method: VerificationMethod.TOTP, consumer });
    expect(await failure(client.validateVerification({ verificationId: verification!.verificationId, code: "000000" }))).toMatchObject({
      reason: "WRONG_CODE",
      metadata: { attempts_left: "4" },
    });
  });
});

describe("TOTP replay protection across a Redis loss", () => {
  it("keeps refusing a used step after Redis lost everything (the step lives in Postgres)", async () => {
    let clock = 2000000000 * 1000;
    const server = await startTestServer("real", "totp_flush", {}, { now: () => clock });
    try {
      const client = await verificationClient(server.url);
      const consumer = "flush-consumer";
      const box = createSecretBox(parseEncryptionKeys(testEncryptionKeys));
      await server.server.app.stores.totpSecrets.enrol(consumer, box.seal(rfcSecret, `totp:${consumer}`), box.activeKeyId);
      await server.server.app.stores.totpSecrets.markUsed(consumer, 0, setupActor);
      const validate = async () => {
        const { verification } = await client.initiateVerification({ method: VerificationMethod.TOTP, consumer });
        return client.validateVerification({ verificationId: verification!.verificationId, code: "279037" });
      };
      await validate();
      const redis = await connectTestRedis();
      try {
        await deleteKeysWithPrefix(redis, server.config.shortLivedStore.kind === "redis" ? server.config.shortLivedStore.keyPrefix : "");
      } finally {
        redis.disconnect();
      }
      clock += 1_000;
      expect(await failure(validate())).toMatchObject({ reason: "WRONG_CODE" });
    } finally {
      await server.stop();
    }
  });
});
