import { Code, ConnectError, createClient, type Client, type Interceptor, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { ViolationsSchema } from "@bufbuild/protovalidate/gen/buf/validate/validate_pb.js";
import { ErrorInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import { VerificationService } from "../../gen/onetime/v1/verification_service_pb.js";
import { signToken } from "./tokens.js";

export type VerificationClient = Client<typeof VerificationService>;

export type Protocol = "grpc" | "connect-json";

/** A VerificationService client over gRPC (HTTP/2) or Connect JSON (HTTP/1.1), as a service principal. */
export async function verificationClient(
  baseUrl: string,
  protocol: Protocol = "grpc",
  roles = ["service"],
  headers: Record<string, string> = {},
): Promise<VerificationClient> {
  const token = await signToken({ subject: "billing-backend", roles });
  return createClient(VerificationService, bearerTransport(baseUrl, protocol, token, headers));
}

/** gRPC (HTTP/2) or Connect JSON (HTTP/1.1) to `baseUrl`, sending `token` as a bearer token when given, and `headers` (e.g. a traceparent). */
export function bearerTransport(baseUrl: string, protocol: Protocol, token: string | undefined, headers: Record<string, string> = {}): Transport {
  const withToken: Interceptor = (next) => async (request) => {
    if (token !== undefined) request.header.set("authorization", `Bearer ${token}`);
    for (const [name, value] of Object.entries(headers)) request.header.set(name, value);
    return next(request);
  };
  const interceptors = [withToken];
  return protocol === "grpc"
    ? createGrpcTransport({ baseUrl, interceptors })
    : createConnectTransport({ baseUrl, httpVersion: "1.1", useBinaryFormat: false, interceptors });
}

export interface Failure {
  readonly code: Code;
  readonly reason?: string;
  readonly metadata: Record<string, string>;
  /** Field paths of the Violations detail, e.g. "policy.time_to_live". */
  readonly fields: string[];
  readonly message: string;
}

/** The error a call ended with, decoded: code, ErrorInfo reason and metadata, violated fields. */
export async function failure(call: Promise<unknown>): Promise<Failure> {
  try {
    await call;
  } catch (caught) {
    const error = ConnectError.from(caught);
    const [info] = error.findDetails(ErrorInfoSchema);
    const fields = error
      .findDetails(ViolationsSchema)
      .flatMap((violations) => violations.violations)
      .map((violation) =>
        (violation.field?.elements ?? [])
          .map((element) => element.fieldName)
          .filter((name) => name !== "")
          .join("."),
      );
    return { code: error.code, ...(info === undefined ? {} : { reason: info.reason }), metadata: { ...info?.metadata }, fields, message: error.rawMessage };
  }
  throw new Error("the call succeeded but was expected to fail");
}

/** A call's outcome in one word: "OK", or the ErrorInfo reason it ended with (the code's name without one). */
export async function outcome(call: Promise<unknown>): Promise<string> {
  try {
    await call;
    return "OK";
  } catch {
    const refused = await failure(call);
    return refused.reason ?? Code[refused.code];
  }
}
