import { create } from "@bufbuild/protobuf";
import { createValidator } from "@bufbuild/protovalidate";
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createOnetimeClients,
  errorReason,
  InitiateVerificationRequestSchema,
  readOnetimeError,
  SymbolSet,
  VerificationMethod,
  type OnetimeClients,
} from "../../packages/client/src/index.js";
import { startTestServer, type TestServer } from "../support/server.js";
import { signToken } from "../support/tokens.js";

async function thrown(call: Promise<unknown>): Promise<unknown> {
  try {
    await call;
  } catch (error) {
    return error;
  }
  throw new Error("the call succeeded but was expected to fail");
}

describe("@onetime/client against a server", () => {
  let server: TestServer;
  const clients: Record<string, OnetimeClients> = {};

  beforeAll(async () => {
    server = await startTestServer("embedded", "client-package");
    const token = await signToken({ subject: "client-package", roles: ["service"] });
    const bearer: Interceptor = (next) => (request) => {
      request.header.set("authorization", `Bearer ${token}`);
      return next(request);
    };
    clients.grpc = createOnetimeClients(createGrpcTransport({ baseUrl: server.url, interceptors: [bearer] }));
    clients.connect = createOnetimeClients(
      createConnectTransport({ baseUrl: server.url, httpVersion: "1.1", useBinaryFormat: false, interceptors: [bearer] }),
    );
  });
  afterAll(async () => {
    await server?.stop();
  });

  for (const protocol of ["grpc", "connect"]) {
    it(`reads reason, metadata and the violated field of a wrong code (${protocol})`, async () => {
      const { verification } = clients[protocol]!;
      const started = await verification.initiateVerification({
        method: VerificationMethod.EMAIL,
        consumer: `client-${protocol}@example.com`,
        payload: { flow: "signup" },
        policy: { forcedCode: "482913", maxAttempts: 3 },
      });
      const error = readOnetimeError(
        await thrown(verification.validateVerification({ verificationId: started.verification!.verificationId, code: "000000" })),
      );
      expect(error).toMatchObject({ code: Code.InvalidArgument, reason: "WRONG_CODE", metadata: { attempts_left: "2" } });
      expect(error.violations).toEqual([{ field: "code", ruleId: "match", message: "is not correct; 2 attempt(s) left" }]);

      const validated = await verification.validateVerification({ verificationId: started.verification!.verificationId, code: "482913" });
      expect(validated.verification?.payload).toEqual({ flow: "signup" });
    });
  }

  it("names a repeated field's element by its index", async () => {
    const error = readOnetimeError(
      await thrown(
        clients.connect!.verification.initiateVerification({
          method: VerificationMethod.EMAIL,
          consumer: "index@example.com",
          generateCode: { symbolSets: [SymbolSet.DIGITS, 99 as SymbolSet] },
        }),
      ),
    );
    expect(error.code).toBe(Code.InvalidArgument);
    expect(error.violations.map((violation) => violation.field)).toEqual(["generate_code.symbol_sets[1]"]);
  });

  it("gives no reason for an error that is not onetime's", () => {
    expect(errorReason(new Error("socket hang up"))).toBeUndefined();
    expect(readOnetimeError(new ConnectError("proxy says no", Code.Unavailable))).toMatchObject({
      code: Code.Unavailable,
      message: "proxy says no",
      reason: undefined,
      metadata: {},
      violations: [],
    });
  });

  it("keeps the server's rules in its schemas, so a form can be checked before sending", () => {
    const result = createValidator().validate(
      InitiateVerificationRequestSchema,
      create(InitiateVerificationRequestSchema, { consumer: "form@example.com" }),
    );
    expect(result.kind).toBe("invalid");
    expect(result.kind === "invalid" ? result.violations.map((violation) => violation.ruleId) : []).toEqual(["method.required"]);
  });
});
