import { randomUUID } from "node:crypto";
import { create, getOption, toBinary, type DescField, type DescMessage, type MessageInitShape } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { field as fieldRules } from "@bufbuild/protovalidate/gen/buf/validate/validate_pb.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HealthCheckRequestSchema } from "../../gen/grpc/health/v1/health_pb.js";
import { InitiateVerificationRequestSchema, SymbolSet, VerificationMethod } from "../../gen/onetime/v1/verification_service_pb.js";
import { onetimeServices } from "../../src/app.js";
import { connectError, envelope, grpcError, grpcWebError, postHttp1, postHttp2 } from "../support/rawRequests.js";
import { backends, startTestServer, type TestServer } from "../support/server.js";
import { signToken } from "../support/tokens.js";
import { failure, verificationClient, type Failure } from "../support/verificationClient.js";

const initiatePath = "/onetime.v1.VerificationService/InitiateVerification";
const healthCheckPath = "/grpc.health.v1.Health/Check";

/** A placeholder whose first byte the binary cases overwrite with 0xFF, which UTF-8 never holds. */
const placeholder = "PLACEHOLDER";

/** A binary message whose `placeholder` string no longer is UTF-8; the length prefix still fits. */
function binaryWithInvalidUtf8<Desc extends DescMessage>(schema: Desc, init: MessageInitShape<Desc>): Buffer {
  const bytes = Buffer.from(toBinary(schema, create(schema, init)));
  bytes[bytes.indexOf(placeholder)] = 0xff;
  return bytes;
}

/** `{"method":"VERIFICATION_METHOD_TOTP","consumer":"zo<0xFF>"}` */
const jsonWithInvalidUtf8 = Buffer.concat([
  Buffer.from('{"method":"VERIFICATION_METHOD_TOTP","consumer":"zo'),
  Buffer.from([0xff]),
  Buffer.from('"}'),
]);

const refusal = (error: ConnectError): Promise<Failure> => failure(Promise.reject(error));

describe.each(backends)("malformed requests are refused, naming the field (%s backends)", (backend) => {
  let server: TestServer;
  let authorization: string;

  beforeAll(async () => {
    server = await startTestServer(backend, "malformed");
    authorization = `Bearer ${await signToken({ subject: "billing-backend", roles: ["service"] })}`;
  });
  afterAll(async () => {
    await server?.stop();
  });

  const connectJson = () => ({ "content-type": "application/json", authorization });
  const binaryInitiate = () =>
    binaryWithInvalidUtf8(InitiateVerificationRequestSchema, { method: VerificationMethod.TOTP, consumer: placeholder });

  describe("bytes that are not UTF-8", () => {
    it("in Connect JSON over HTTP/1.1", async () => {
      const response = await postHttp1(server.url, initiatePath, connectJson(), jsonWithInvalidUtf8);
      expect(await refusal(connectError(response))).toMatchObject({ code: Code.InvalidArgument, fields: ["consumer"] });
    });

    it("in Connect JSON over HTTP/2", async () => {
      const response = await postHttp2(server.url, initiatePath, connectJson(), jsonWithInvalidUtf8);
      expect(await refusal(connectError(response))).toMatchObject({ code: Code.InvalidArgument, fields: ["consumer"] });
    });

    it("in Connect binary", async () => {
      const response = await postHttp1(server.url, initiatePath, { "content-type": "application/proto", authorization }, binaryInitiate());
      expect(await refusal(connectError(response))).toMatchObject({ code: Code.InvalidArgument, fields: ["consumer"] });
    });

    it("in gRPC", async () => {
      const response = await postHttp2(server.url, initiatePath, { "content-type": "application/grpc", te: "trailers", authorization }, envelope(binaryInitiate()));
      expect(await refusal(grpcError(response))).toMatchObject({ code: Code.InvalidArgument, fields: ["consumer"] });
    });

    it("in gRPC-Web", async () => {
      const response = await postHttp1(server.url, initiatePath, { "content-type": "application/grpc-web+proto", authorization }, envelope(binaryInitiate()));
      expect(await refusal(grpcWebError(response))).toMatchObject({ code: Code.InvalidArgument, fields: ["consumer"] });
    });

    it("in gRPC-Web with JSON messages", async () => {
      const response = await postHttp1(server.url, initiatePath, { "content-type": "application/grpc-web+json", authorization }, envelope(jsonWithInvalidUtf8));
      expect(await refusal(grpcWebError(response))).toMatchObject({ code: Code.InvalidArgument, fields: ["consumer"] });
    });

    it("in a key of the JSON payload, naming the payload's map", async () => {
      const body = Buffer.concat([
        Buffer.from(`{"method":"VERIFICATION_METHOD_TOTP","consumer":"${randomUUID()}","payload":{"k`),
        Buffer.from([0xc3]),
        Buffer.from('":1}}'),
      ]);
      const response = await postHttp1(server.url, initiatePath, connectJson(), body);
      expect(await refusal(connectError(response))).toMatchObject({ code: Code.InvalidArgument, fields: ["payload.fields"] });
    });

    it("in another service's request too (Health, public)", async () => {
      const body = binaryWithInvalidUtf8(HealthCheckRequestSchema, { service: placeholder });
      const response = await postHttp2(server.url, healthCheckPath, { "content-type": "application/grpc", te: "trailers" }, envelope(body));
      expect(await refusal(grpcError(response))).toMatchObject({ code: Code.InvalidArgument, fields: ["service"] });
    });
  });

  it("refuses a JSON escape of a lone surrogate, which has no UTF-8 form", async () => {
    const body = Buffer.from('{"method":"VERIFICATION_METHOD_TOTP","consumer":"zo\\ud800"}');
    const response = await postHttp1(server.url, initiatePath, connectJson(), body);
    expect(await refusal(connectError(response))).toMatchObject({ code: Code.InvalidArgument, fields: ["consumer"] });
  });

  it("refuses an unknown enum name in JSON, naming the field", async () => {
    const body = Buffer.from(
      JSON.stringify({ method: "VERIFICATION_METHOD_EMAIL", consumer: "nope@example.com", generateCode: { symbolSets: ["NOPE"] } }),
    );
    const response = await postHttp1(server.url, initiatePath, connectJson(), body);
    expect(await refusal(connectError(response))).toMatchObject({ code: Code.InvalidArgument, fields: ["generate_code.symbol_sets"] });
  });

  it("says a missing method is required and a misspelled one is unknown, listing the accepted names both times", async () => {
    const names = "VERIFICATION_METHOD_EMAIL, VERIFICATION_METHOD_PHONE";
    const missing = await postHttp1(server.url, initiatePath, connectJson(), Buffer.from(JSON.stringify({ consumer: "m@example.com" })));
    const left = await refusal(connectError(missing));
    expect(left).toMatchObject({ code: Code.InvalidArgument, fields: ["method"] });
    expect(left.message).toContain("is required");
    expect(left.message).toContain(names);
    const misspelled = await postHttp1(server.url, initiatePath, connectJson(), Buffer.from(JSON.stringify({ method: "EMAIL", consumer: "m@example.com" })));
    const typo = await refusal(connectError(misspelled));
    expect(typo).toMatchObject({ code: Code.InvalidArgument, fields: ["method"] });
    expect(typo.message).toContain(names);
  });

  it("refuses a JSON key that names no field, naming it", async () => {
    const body = Buffer.from(JSON.stringify({ method: "VERIFICATION_METHOD_EMAIL", consumer: "typo@example.com", policy: { maxAttempt: 3 } }));
    const response = await postHttp1(server.url, initiatePath, connectJson(), body);
    const refused = await refusal(connectError(response));
    expect(refused).toMatchObject({ code: Code.InvalidArgument, fields: ["policy.maxAttempt"] });
    // It names the fields there are, so the typo shows.
    expect(refused.message).toContain("no such field (onetime.v1.VerificationPolicy has ");
    expect(refused.message).toContain("maxAttempts");
  });

  it("says a JSON body that is not an object must be one, naming the message", async () => {
    for (const [body, shape] of [["[]", "an array"], ['"x"', "a string"], ["42", "a number"]] as const) {
      const response = await postHttp1(server.url, initiatePath, connectJson(), Buffer.from(body));
      const refused = await refusal(connectError(response));
      expect(refused).toMatchObject({ code: Code.InvalidArgument });
      expect(refused.message).toContain(`must be a JSON object (onetime.v1.InitiateVerificationRequest), not ${shape}`);
    }
  });

  it("echoes only the start of a very long unknown service name to a health check, which gRPC sends in a header", async () => {
    const response = await postHttp1(server.url, healthCheckPath, { "content-type": "application/json" }, Buffer.from(JSON.stringify({ service: "s".repeat(30_000) })));
    const refused = connectError(response);
    expect(refused.code).toBe(Code.NotFound);
    expect(refused.message.length).toBeLessThan(300);
    expect(refused.message).toContain("(30000 characters)");
  });

  it("refuses undefined enum numbers in binary, naming each field", async () => {
    const client = await verificationClient(server.url, "grpc");
    const refused = await failure(
      client.initiateVerification({
        method: 7 as VerificationMethod,
        consumer: "numbers@example.com",
        generateCode: { symbolSets: [SymbolSet.DIGITS, 9 as SymbolSet] },
      }),
    );
    expect(refused).toMatchObject({ code: Code.InvalidArgument });
    expect(refused.fields.sort()).toEqual(["generate_code.symbol_sets", "method"]);
  });

  it("still accepts non-ASCII text, and a U+FFFD the caller really sent", async () => {
    for (const protocol of ["grpc", "connect-json"] as const) {
      const client = await verificationClient(server.url, protocol);
      for (const consumer of [`zoë-${protocol}`, `\ufffd-${protocol}`]) {
        const { verification, totpUri } = await client.initiateVerification({ method: VerificationMethod.TOTP, consumer });
        expect(verification?.consumer).toBe(consumer);
        expect(totpUri).toMatch(/^otpauth:\/\/totp\//);
      }
    }
  });
});

describe("undefined enum numbers", () => {
  /** Every enum field reachable from a request of a onetime service, with where it was found. */
  function enumFields(desc: DescMessage, path: string, seen = new Set<string>()): { path: string; field: DescField }[] {
    if (seen.has(desc.typeName) || desc.typeName.startsWith("google.protobuf.")) return [];
    seen.add(desc.typeName);
    return desc.fields.flatMap((field) => {
      const at = path === "" ? field.name : `${path}.${field.name}`;
      if (field.enum !== undefined) return [{ path: at, field }];
      return field.message === undefined ? [] : enumFields(field.message, at, seen);
    });
  }

  function definedOnly(field: DescField): boolean {
    const rules = getOption(field, fieldRules);
    switch (rules.type.case) {
      case "enum":
        return rules.type.value.definedOnly === true;
      case "repeated":
        return rules.type.value.items?.type.case === "enum" && rules.type.value.items.type.value.definedOnly === true;
      case "map":
        return rules.type.value.values?.type.case === "enum" && rules.type.value.values.type.value.definedOnly === true;
      default:
        return false;
    }
  }

  it("are refused by a defined_only rule on every enum field of every onetime request", () => {
    const requestEnums = onetimeServices.flatMap((service) =>
      service.methods.flatMap((method) => enumFields(method.input, "").map((found) => ({ ...found, rpc: `${service.name}.${method.name}` }))),
    );
    expect(requestEnums.length).toBeGreaterThan(0);
    expect(requestEnums.filter((found) => !definedOnly(found.field)).map((found) => `${found.rpc}: ${found.path}`)).toEqual([]);
  });
});
