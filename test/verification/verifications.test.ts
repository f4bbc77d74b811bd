import { randomUUID } from "node:crypto";
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SymbolSet, VerificationMethod } from "../../gen/onetime/v1/verification_service_pb.js";
import { backends, startTestServer, type TestServer } from "../support/server.js";
import { failure, verificationClient, type VerificationClient } from "../support/verificationClient.js";

const email = (label: string) => `${label}-${randomUUID().slice(0, 8)}@example.com`;

// On Redis Cluster too: the codes, limits and guess budgets spread over three primaries.
describe.each([...backends, "cluster"] as const)("VerificationService rules (%s backends)", (backend) => {
  let server: TestServer;
  let client: VerificationClient;

  beforeAll(async () => {
    server = await startTestServer(backend, "verifications", {
      VERIFICATION_RESEND_DELAY_SECONDS: "1",
      VERIFICATION_MAX_RESEND_DELAY_SECONDS: "4",
      VERIFICATION_SEND_LIMIT: "3",
      VERIFICATION_GUESS_LIMIT: "12",
    });
    client = await verificationClient(server.url);
  });
  afterAll(async () => {
    await server?.stop();
  });

  function initiateWithCode(consumer: string, code: string, extra: { ttlSeconds?: bigint; maxAttempts?: number } = {}) {
    return client.initiateVerification({
      method: VerificationMethod.EMAIL,
      consumer,
      policy: {
        forcedCode: code,
        maxAttempts: extra.maxAttempts ?? 0,
        ...(extra.ttlSeconds === undefined ? {} : { timeToLive: { seconds: extra.ttlSeconds } }),
      },
    });
  }

  it("validates a correct code once, returning the payload", async () => {
    const payload = { flow: "signup", nested: { step: 2, tags: ["a", "b"] }, ok: true };
    const { verification } = await client.initiateVerification({
      method: VerificationMethod.EMAIL,
      consumer: email("once"),
      policy: { forcedCode: "48291377" },
      payload,
    });
    expect(verification?.attempts).toBe(0);
    expect(verification?.maxAttempts).toBe(5);
    expect((await client.getVerification({ verificationId: verification!.verificationId })).verification?.payload).toEqual(payload);

    const validated = await client.validateVerification({ verificationId: verification!.verificationId, code: "48291377" });
    expect(validated.verification?.payload).toEqual(payload);
    expect(validated.verification?.attempts).toBe(1);
    expect(await failure(client.validateVerification({ verificationId: verification!.verificationId, code: "48291377" }))).toMatchObject({
      code: Code.NotFound,
      reason: "VERIFICATION_NOT_FOUND",
    });
  });

  it("counts wrong codes, says how many are left, then locks even against the right code", async () => {
    const { verification } = await initiateWithCode(email("lock"), "112233", { maxAttempts: 3 });
    const id = verification!.verificationId;
    expect(await failure(client.validateVerification({ verificationId: id, code: "000000" }))).toMatchObject({
      code: Code.InvalidArgument,
      reason: "WRONG_CODE",
      metadata: { attempts_left: "2" },
      fields: ["code"],
    });
    await failure(client.validateVerification({ verificationId: id, code: "000001" }));
    await failure(client.validateVerification({ verificationId: id, code: "000002" }));
    expect(await failure(client.validateVerification({ verificationId: id, code: "112233" }))).toMatchObject({
      code: Code.FailedPrecondition,
      reason: "VERIFICATION_LOCKED",
    });
  });

  it("lets exactly one of 100 concurrent validations of a code succeed", async () => {
    const { verification } = await initiateWithCode(email("race"), "734019");
    const results = await Promise.allSettled(
      Array.from({ length: 100 }, () => client.validateVerification({ verificationId: verification!.verificationId, code: "734019" })),
    );
    expect(results.filter((result) => result.status === "fulfilled")).toHaveLength(1);
  });

  it("never judges more than max attempts of 50 concurrent wrong guesses", async () => {
    const { verification } = await initiateWithCode(email("guesses"), "734020");
    const outcomes = await Promise.all(
      Array.from({ length: 50 }, (_, i) => failure(client.validateVerification({ verificationId: verification!.verificationId, code: `9${String(i).padStart(5, "0")}` }))),
    );
    const reasons = outcomes.map((outcome) => outcome.reason);
    expect(reasons.filter((reason) => reason === "WRONG_CODE")).toHaveLength(5);
    expect(reasons.filter((reason) => reason === "VERIFICATION_LOCKED")).toHaveLength(45);
  });

  it("bounds guesses per consumer across verifications, so new ones buy no more", async () => {
    const consumer = email("budget");
    const first = (await client.initiateVerification({ method: VerificationMethod.TOTP, consumer, policy: { maxAttempts: 10 } })).verification!;
    const second = (await client.initiateVerification({ method: VerificationMethod.TOTP, consumer, policy: { maxAttempts: 10 } })).verification!;
    expect(first.maxAttempts + second.maxAttempts).toBe(12);
    expect(await failure(client.initiateVerification({ method: VerificationMethod.TOTP, consumer }))).toMatchObject({
      code: Code.ResourceExhausted,
      reason: "GUESS_BUDGET_EXHAUSTED",
    });
  });

  it("shares one set of limits between case variants of an address", async () => {
    const local = `Case${randomUUID().slice(0, 6)}`;
    await initiateWithCode(`${local}@example.com`, "700001", { maxAttempts: 1 });
    expect(await failure(initiateWithCode(`${local.toUpperCase()}@EXAMPLE.com`, "700002", { maxAttempts: 1 }))).toMatchObject({
      reason: "RESEND_TOO_SOON",
    });
  });

  it("refuses a time to live under a second before charging anything", async () => {
    const consumer = email("short-ttl");
    const refused = await failure(
      client.initiateVerification({ method: VerificationMethod.EMAIL, consumer, policy: { timeToLive: { nanos: 500_000 } } }),
    );
    expect(refused).toMatchObject({ code: Code.InvalidArgument, fields: ["policy.time_to_live"] });
    await expect(initiateWithCode(consumer, "700003")).resolves.toBeDefined();
  });

  it("treats a retry whose payload keys come in another order as the same request", async () => {
    const request = { method: VerificationMethod.EMAIL, consumer: email("idem-order"), idempotencyKey: `k-${randomUUID()}`, policy: { forcedCode: "606061" } };
    const first = await client.initiateVerification({ ...request, payload: { a: 1, b: { c: 2, d: 3 } } });
    const again = await client.initiateVerification({ ...request, payload: { b: { d: 3, c: 2 }, a: 1 } });
    expect(again.verification?.verificationId).toBe(first.verification?.verificationId);
  });

  it("uses a forced verification id, and refuses one that is live", async () => {
    const forced = randomUUID();
    const { verification } = await client.initiateVerification({
      method: VerificationMethod.EMAIL,
      consumer: email("forced"),
      policy: { forcedVerificationId: forced, forcedCode: "FORCED1" },
    });
    expect(verification?.verificationId).toBe(forced);
    const collision = client.initiateVerification({ method: VerificationMethod.EMAIL, consumer: email("forced-again"), policy: { forcedVerificationId: forced } });
    expect(await failure(collision)).toMatchObject({ code: Code.AlreadyExists, reason: "VERIFICATION_ID_TAKEN" });
    await expect(client.validateVerification({ verificationId: forced, code: "FORCED1" })).resolves.toBeDefined();
  });

  it("answers a retry with the same idempotency key with the first answer", async () => {
    const request = { method: VerificationMethod.EMAIL, consumer: email("idem"), idempotencyKey: `order-${randomUUID()}`, policy: { forcedCode: "606060" } };
    const first = await client.initiateVerification(request);
    const again = await client.initiateVerification(request);
    expect(again.verification?.verificationId).toBe(first.verification?.verificationId);
    expect(await failure(client.initiateVerification({ ...request, issuer: "changed" }))).toMatchObject({
      code: Code.InvalidArgument,
      reason: "IDEMPOTENCY_KEY_REUSED",
      fields: ["idempotency_key"],
    });
  });

  it("counts verification events by event and method in the metrics", async () => {
    const { verification } = await initiateWithCode(email("metrics"), "313131");
    await client.validateVerification({ verificationId: verification!.verificationId, code: "000000" }).catch(() => undefined);
    await client.validateVerification({ verificationId: verification!.verificationId, code: "313131" });
    const metrics = await server.server.app.metrics.registry.getSingleMetricAsString("onetime_verification_events_total");
    for (const event of ["initiated", "wrong_code", "validated"]) {
      expect(metrics).toMatch(new RegExp(`onetime_verification_events_total\\{event="${event}",method="email"\\} [1-9]`));
    }
  });

  it("invalidates: later validations find nothing", async () => {
    const { verification } = await initiateWithCode(email("invalidate"), "818181");
    await client.invalidateVerification({ verificationId: verification!.verificationId });
    expect(await failure(client.validateVerification({ verificationId: verification!.verificationId, code: "818181" }))).toMatchObject({
      code: Code.NotFound,
    });
    expect(await failure(client.invalidateVerification({ verificationId: verification!.verificationId }))).toMatchObject({ code: Code.NotFound });
  });

  it("refuses a caller that is not a backend", async () => {
    const user = await verificationClient(server.url, "grpc", []);
    expect(await failure(user.getVerification({ verificationId: randomUUID() }))).toMatchObject({ code: Code.PermissionDenied });
  });
});

describe.each(["grpc", "connect-json"] as const)("VerificationService refuses bad input over %s", (protocol) => {
  let server: TestServer;
  let client: VerificationClient;
  beforeAll(async () => {
    server = await startTestServer("embedded", "bad-input");
    client = await verificationClient(server.url, protocol);
  });
  afterAll(async () => {
    await server?.stop();
  });

  const base = { method: VerificationMethod.EMAIL, consumer: "ada@example.com" };
  const cases: Array<[string, Parameters<VerificationClient["initiateVerification"]>[0], string]> = [
    ["empty consumer", { ...base, consumer: "" }, "consumer"],
    ["email method with a non-address", { ...base, consumer: "not an address" }, "consumer"],
    ["phone not a valid number", { method: VerificationMethod.PHONE, consumer: "+1 555 555 5555" }, "consumer"],
    ["no method", { ...base, method: VerificationMethod.UNSPECIFIED }, "method"],
    ["code length 0", { ...base, generateCode: { length: 0 } }, "generate_code.length"],
    ["huge code length", { ...base, generateCode: { length: 1000 } }, "generate_code.length"],
    ["too weak a code", { ...base, generateCode: { length: 4 } }, "generate_code.length"],
    ["unknown symbol set", { ...base, generateCode: { symbolSets: [99 as SymbolSet] } }, "generate_code.symbol_sets"],
    ["negative time to live", { ...base, policy: { timeToLive: { seconds: -5n } } }, "policy.time_to_live"],
    ["too long a time to live", { ...base, policy: { timeToLive: { seconds: 10n * 86_400n } } }, "policy.time_to_live"],
    ["forced id not a UUID", { ...base, policy: { forcedVerificationId: "not-a-uuid" } }, "policy.forced_verification_id"],
    ["forced code with TOTP", { method: VerificationMethod.TOTP, consumer: "user-1", policy: { forcedCode: "123456" } }, "policy.forced_code"],
    ["template without the code", { ...base, template: { textBody: "hello" } }, "template.text_body"],
    ["code in the subject", { ...base, template: { subject: "{{{CODE}}}" } }, "template.subject"],
  ];

  it.each(cases)("%s", async (_label, request, field) => {
    const refused = await failure(client.initiateVerification(request));
    expect(refused.code).toBe(Code.InvalidArgument);
    expect(refused.fields).toContain(field);
    expect(refused.message).toContain(field.split(".").at(-1)!);
  });

  it("bad verification ids", async () => {
    for (const call of [
      client.validateVerification({ verificationId: "1234", code: "1" }),
      client.getVerification({ verificationId: "" }),
      client.invalidateVerification({ verificationId: "x".repeat(36) }),
    ]) {
      expect(await failure(call)).toMatchObject({ code: Code.InvalidArgument, fields: ["verification_id"] });
    }
  });
});
