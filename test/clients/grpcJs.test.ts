import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import protobuf from "protobufjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../support/server.js";
import { signToken } from "../support/tokens.js";

// What packages/proto/README.md tells a grpc-js service to write, resolved through the workspace
// link the way an installed @onetime/proto is.
const protoDir = dirname(fileURLToPath(import.meta.resolve("@onetime/proto/package.json")));
const loaderOptions: protoLoader.Options = { includeDirs: [protoDir], longs: String, enums: String, defaults: true, oneofs: true };

type Callback = (error: grpc.ServiceError | null, response?: Record<string, any>) => void;
type Unary = (request: object, metadata: grpc.Metadata, callback: Callback) => void;

function call(method: Unary, request: object, metadata: grpc.Metadata): Promise<Record<string, any>> {
  return new Promise((resolve, reject) =>
    method(request, metadata, (error, response) => (error === null ? resolve(response ?? {}) : reject(error))),
  );
}

async function failure(call: Promise<unknown>): Promise<grpc.ServiceError> {
  try {
    await call;
  } catch (error) {
    return error as grpc.ServiceError;
  }
  throw new Error("the call succeeded but was expected to fail");
}

// The decoding packages/proto/README.md shows, as printed there.
const root = new protobuf.Root();
root.resolvePath = (_origin, target) => (target.startsWith("google/protobuf/") ? target : `${protoDir}/${target}`);
root.loadSync(["google/rpc/status.proto", "google/rpc/error_details.proto", "buf/validate/validate.proto"], { keepCase: true });
const Status = root.lookupType("google.rpc.Status");

function details(error: grpc.ServiceError): Record<string, any>[] {
  const [bytes] = error.metadata.get("grpc-status-details-bin");
  if (bytes === undefined) return [];
  return (Status.decode(bytes as Buffer) as any).details.map(({ type_url, value }: { type_url: string; value: Uint8Array }) => {
    const type = root.lookupType(type_url.slice(type_url.lastIndexOf("/") + 1));
    return { type: type.fullName.slice(1), ...type.toObject(type.decode(value)) };
  });
}

/** The violated fields' paths in a Violations detail. */
function violatedFields(detail: Record<string, any> | undefined): string[] {
  return (detail?.violations ?? []).map((violation: any) => violation.field.elements.map((element: any) => element.field_name).join("."));
}

describe("a grpc-js service using @onetime/proto", () => {
  let server: TestServer;
  let client: grpc.Client & Record<string, Unary>;
  const metadata = new grpc.Metadata();

  beforeAll(async () => {
    server = await startTestServer("embedded", "grpcjs");
    const definition = protoLoader.loadSync("onetime/v1/verification_service.proto", loaderOptions);
    const onetime = grpc.loadPackageDefinition(definition) as any;
    client = new onetime.onetime.v1.VerificationService(new URL(server.url).host, grpc.credentials.createInsecure());
    metadata.set("authorization", `Bearer ${await signToken({ subject: "grpc-js-backend", roles: ["service"] })}`);
  });
  afterAll(async () => {
    client?.close();
    await server?.stop();
  });

  it("loads every file with the documented includeDirs", () => {
    const definition = protoLoader.loadSync(
      ["onetime/v1/verification_service.proto", "onetime/v1/token_service.proto", "onetime/v1/account_token_service.proto", "google/rpc/status.proto"],
      loaderOptions,
    );
    expect(Object.keys(definition)).toEqual(
      expect.arrayContaining(["onetime.v1.VerificationService", "onetime.v1.TokenService", "onetime.v1.AccountTokenService", "google.rpc.Status"]),
    );
  });

  it("does a verification round trip, and a Struct payload comes back intact", async () => {
    const payload = { fields: { flow: { stringValue: "signup" }, step: { numberValue: 2 } } };
    const { verification } = await call(client.initiateVerification!.bind(client), {
      method: "VERIFICATION_METHOD_EMAIL",
      consumer: "grpc-js@example.com",
      payload,
      policy: { forcedCode: "482913" },
    }, metadata);
    const validated = await call(client.validateVerification!.bind(client), { verificationId: verification.verificationId, code: "482913" }, metadata);
    expect(validated.verification.payload.fields.flow).toMatchObject({ stringValue: "signup" });
    expect(validated.verification.payload.fields.step).toMatchObject({ numberValue: 2 });
  });

  it("stores a plain-object payload as an empty Struct, which is why the README shows the Struct shape", async () => {
    const { verification } = await call(client.initiateVerification!.bind(client), {
      method: "VERIFICATION_METHOD_EMAIL",
      consumer: "grpc-js-plain@example.com",
      payload: { flow: "signup" },
      policy: { forcedCode: "482913" },
    }, metadata);
    const fetched = await call(client.getVerification!.bind(client), { verificationId: verification.verificationId }, metadata);
    expect(fetched.verification.payload?.fields ?? {}).toEqual({});
  });

  it("reads the reason, metadata and field of a wrong code from grpc-status-details-bin", async () => {
    const { verification } = await call(client.initiateVerification!.bind(client), {
      method: "VERIFICATION_METHOD_EMAIL",
      consumer: "grpc-js-wrong@example.com",
      policy: { forcedCode: "482913", maxAttempts: 3 },
    }, metadata);
    const error = await failure(call(client.validateVerification!.bind(client), { verificationId: verification.verificationId, code: "000000" }, metadata));
    expect(error.code).toBe(grpc.status.INVALID_ARGUMENT);
    const [info, violations] = details(error);
    expect(info).toEqual({ type: "google.rpc.ErrorInfo", reason: "WRONG_CODE", domain: "onetime.v1", metadata: { attempts_left: "2" } });
    expect(violations?.type).toBe("buf.validate.Violations");
    expect(violatedFields(violations)).toEqual(["code"]);
  });

  it("reads the field violations of a broken protovalidate rule", async () => {
    const error = await failure(call(client.initiateVerification!.bind(client), { consumer: "x@example.com" }, metadata));
    expect(error.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(violatedFields(details(error).find((detail) => detail.type === "buf.validate.Violations"))).toEqual(["method"]);
  });
});
