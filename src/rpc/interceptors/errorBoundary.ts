import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { ViolationsSchema } from "@bufbuild/protovalidate/gen/buf/validate/validate_pb.js";
import { ErrorInfoSchema } from "../../../gen/google/rpc/error_details_pb.js";
import { DomainError, InvalidArgument, type DomainErrorKind } from "../../errors/domainError.js";
import { asDependencyFailure } from "../../errors/dependencyFailure.js";
import { observeStream } from "./streams.js";
import { withoutStack } from "../../errors/withoutStack.js";
import { encodedDetail, type EncodedDetail } from "../encodedDetail.js";

const codes: Record<DomainErrorKind, Code> = {
  invalid_argument: Code.InvalidArgument,
  not_found: Code.NotFound,
  already_exists: Code.AlreadyExists,
  permission_denied: Code.PermissionDenied,
  failed_precondition: Code.FailedPrecondition,
  resource_exhausted: Code.ResourceExhausted,
  unavailable: Code.Unavailable,
  unauthenticated: Code.Unauthenticated,
  aborted: Code.Aborted,
  deadline_exceeded: Code.DeadlineExceeded,
};

/** ErrorInfo's domain for every reason onetime gives. */
export const errorDomain = "onetime.v1";

/**
 * The one place errors become what a caller sees. Domain errors keep their message (written for
 * callers); anything else is an internal error whose cause stays on the server, attached as
 * `cause` for the request log and never serialised.
 */
export function toConnectError(error: unknown): ConnectError {
  // Connect's own failures (a response it cannot serialise, say) come as ConnectErrors whose
  // message is the library's account of the bug: the caller gets none of it.
  if (error instanceof ConnectError) return serverSideCodes.has(error.code) && !isPlainInternal(error) ? internal(error) : error;
  if (error instanceof DomainError) {
    // The domain error is its cause, with whatever stack it has; this one's would point here.
    const refusal = withoutStack(() => new ConnectError(error.message, codes[error.kind], undefined, undefined, error));
    // Already encoded, which the constructor does not take and Connect sends as they are.
    refusal.details.push(errorInfoDetail(error), ...(error instanceof InvalidArgument ? [violationsDetail(error)] : []));
    return refusal;
  }
  const unreachable = asDependencyFailure(error);
  if (unreachable !== undefined) return toConnectError(unreachable);
  return internal(error);
}

// Unavailable is not here: domain errors and unreachable stores give it, each with words meant for callers.
const serverSideCodes = new Set([Code.Internal, Code.Unknown, Code.DataLoss]);

function internal(cause: unknown): ConnectError {
  return new ConnectError("internal error", Code.Internal, undefined, undefined, cause);
}

function isPlainInternal(error: ConnectError): boolean {
  return error.code === Code.Internal && error.rawMessage === "internal error";
}

// google.rpc.ErrorInfo: the standard place for a machine-readable reason, so clients branch on
// `reason` rather than parse messages.
function errorInfoDetail(error: DomainError): EncodedDetail {
  return encodedDetail(ErrorInfoSchema, { reason: error.reason, domain: errorDomain, metadata: { ...error.metadata } });
}

// The same detail type protovalidate attaches, so clients read one shape whether a rule lives in
// the proto or in code.
function violationsDetail(error: InvalidArgument): EncodedDetail {
  return encodedDetail(ViolationsSchema, {
    violations: error.violations.map((violation) => ({
      field: { elements: violation.field.split(".").map((fieldName) => ({ fieldName })) },
      ruleId: violation.rule,
      message: violation.message,
    })),
  });
}

export const errorBoundary: Interceptor = (next) => async (request) => {
  try {
    const response = await next(request);
    if (!response.stream) return response;
    return { ...response, message: observeStream(response.message, () => undefined, toConnectError) };
  } catch (error) {
    throw toConnectError(error);
  }
};
