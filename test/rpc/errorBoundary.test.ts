import { Code, ConnectError, createClient, createRouterTransport } from "@connectrpc/connect";
import { ViolationsSchema } from "@bufbuild/protovalidate/gen/buf/validate/validate_pb.js";
import { ErrorInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import { describe, expect, it } from "vitest";
import { Health } from "../../gen/grpc/health/v1/health_pb.js";
import { DependencyUnavailable, DomainError, InvalidArgument } from "../../src/errors/domainError.js";
import { WrongCode } from "../../src/domain/verification/verificationErrors.js";
import { errorBoundary, toConnectError } from "../../src/rpc/interceptors/errorBoundary.js";
import { errorToJson } from "@connectrpc/connect/protocol-connect";
import { setTrailerStatus } from "@connectrpc/connect/protocol-grpc";

/** A Health service whose Check throws what it is given, behind the real boundary. */
async function errorFor(thrown: unknown): Promise<ConnectError> {
  const transport = createRouterTransport(
    (router) =>
      router.service(Health, {
        check() {
          throw thrown;
        },
        async *watch() {
          yield {};
          throw thrown;
        },
      }),
    { router: { interceptors: [errorBoundary] } },
  );
  try {
    await createClient(Health, transport).check({});
  } catch (error) {
    return ConnectError.from(error);
  }
  throw new Error("call succeeded");
}

describe("error boundary", () => {
  it("answers invalid_argument with a Violations detail naming each field", async () => {
    const error = await errorFor(
      new InvalidArgument([
        { field: "policy.ttl", rule: "duration.lte", message: "must be at most 1h" },
        { field: "consumer", rule: "string.min_len", message: "must not be empty" },
      ]),
    );
    expect(error.code).toBe(Code.InvalidArgument);
    expect(error.rawMessage).toBe("policy.ttl: must be at most 1h; consumer: must not be empty");
    const [violations] = error.findDetails(ViolationsSchema);
    expect(violations?.violations.map((violation) => violation.field?.elements.map((element) => element.fieldName))).toEqual([
      ["policy", "ttl"],
      ["consumer"],
    ]);
    expect(violations?.violations[0]?.ruleId).toBe("duration.lte");
    const [info] = error.findDetails(ErrorInfoSchema);
    expect(info).toMatchObject({ reason: "INVALID_ARGUMENT", domain: "onetime.v1" });
  });

  it("sends the details Connect would have encoded itself (the same JSON on Connect, the same bytes on gRPC), and encodes each distinct one once", () => {
    const wrong = () => new WrongCode(2);
    const sent = toConnectError(wrong());
    // What the boundary gave before it encoded details itself: messages, encoded by Connect on every answer.
    const asMessages = new ConnectError(sent.rawMessage, sent.code, undefined, [
      { desc: ErrorInfoSchema, value: { reason: "WRONG_CODE", domain: "onetime.v1", metadata: { attempts_left: "2" } } },
      { desc: ViolationsSchema, value: { violations: [{ field: { elements: [{ fieldName: "code" }] }, ruleId: "match", message: "is not correct; 2 attempt(s) left" }] } },
    ]);
    expect(errorToJson(sent, undefined)).toEqual(errorToJson(asMessages, undefined));
    const trailers = (error: ConnectError) => {
      const headers = new Headers();
      setTrailerStatus(headers, error);
      return headers.get("grpc-status-details-bin");
    };
    expect(trailers(sent)).toBe(trailers(asMessages));
    // The same refusal again shares the bytes; another one has its own.
    expect(toConnectError(wrong()).details[0]).toBe(sent.details[0]);
    expect(toConnectError(new WrongCode(1)).details[1]).not.toBe(sent.details[1]);
  });

  it("carries a domain error's reason and metadata in ErrorInfo", async () => {
    class Locked extends DomainError {
      readonly kind = "failed_precondition";
      readonly reason = "VERIFICATION_LOCKED";
      override readonly metadata = { attempts_left: "0" };
    }
    const error = await errorFor(new Locked("too many wrong codes"));
    expect(error.code).toBe(Code.FailedPrecondition);
    expect(error.findDetails(ErrorInfoSchema)[0]).toMatchObject({ reason: "VERIFICATION_LOCKED", metadata: { attempts_left: "0" } });
  });

  it("hides the cause of an unexpected error", async () => {
    const error = await errorFor(new Error("password=hunter2 at db.example.internal"));
    expect(error.code).toBe(Code.Internal);
    expect(error.rawMessage).toBe("internal error");
    expect(JSON.stringify(error.details)).not.toContain("hunter2");
  });

  it("answers unavailable when a backing store cannot be reached", async () => {
    const refused = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:6379"), { code: "ECONNREFUSED" });
    expect((await errorFor(refused)).code).toBe(Code.Unavailable);
    expect((await errorFor(new DependencyUnavailable("redis"))).code).toBe(Code.Unavailable);
  });

  it("answers unavailable when Redis refuses for now: full under noeviction, a demoted primary, a moved slot", async () => {
    for (const reply of [
      "OOM command not allowed when used memory > 'maxmemory'. script: 1e4a, on @user_script:59.",
      "READONLY You can't write against a read only replica.",
      "MOVED 3999 127.0.0.1:6381",
    ]) {
      expect((await errorFor(Object.assign(new Error(reply), { name: "ReplyError" }))).code).toBe(Code.Unavailable);
    }
  });

  it("shapes errors thrown mid-stream too", async () => {
    const transport = createRouterTransport(
      (router) =>
        router.service(Health, {
          async *watch() {
            yield {};
            throw new Error("secret detail");
          },
        }),
      { router: { interceptors: [errorBoundary] } },
    );
    const received: unknown[] = [];
    const error = await (async () => {
      for await (const message of createClient(Health, transport).watch({})) received.push(message);
    })().catch((caught: unknown) => ConnectError.from(caught));
    expect(received).toHaveLength(1);
    expect(error).toMatchObject({ code: Code.Internal, rawMessage: "internal error" });
  });

  it("gives an internal ConnectError no words of its own: the library's account of a bug stays in the log", async () => {
    const cause = new ConnectError("serialize binary: cannot encode field onetime.v1.X.y", Code.Internal);
    const error = await errorFor(cause);
    expect(error).toMatchObject({ code: Code.Internal, rawMessage: "internal error" });
    expect((await errorFor(new ConnectError("what broke", Code.Unknown))).rawMessage).toBe("internal error");
    // A refusal meant for the caller keeps its words.
    expect(await errorFor(new ConnectError("unknown service", Code.NotFound))).toMatchObject({ code: Code.NotFound, rawMessage: "unknown service" });
  });
});
