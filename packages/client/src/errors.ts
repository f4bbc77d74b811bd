import { Code, ConnectError } from "@connectrpc/connect";
import { ViolationsSchema, type FieldPath } from "./gen/buf/validate/validate_pb.js";
import { ErrorInfoSchema } from "./gen/google/rpc/error_details_pb.js";

/** ErrorInfo's domain on every reason onetime gives; details from other domains (a proxy's, say) are not onetime's. */
export const errorDomain = "onetime.v1";

/** One request field that broke a rule, as the server's buf.validate.Violations detail names it. */
export interface FieldViolation {
  /** Path from the request's root, e.g. `template.subject` or `keys[0].public_key` (proto field names). */
  readonly field: string;
  /** The rule's id, e.g. `string.max_len`, `required`, `utf8`. */
  readonly ruleId: string;
  /** Words for a person, e.g. "value length must be at most 200 characters". */
  readonly message: string;
}

/** What onetime says about a failed call, read from the error and its details. */
export interface OnetimeError {
  readonly code: Code;
  /** The message without Connect's `[code]` prefix. */
  readonly message: string;
  /** ErrorInfo reason to branch on (e.g. `code_mismatch`, `resend_too_soon`); undefined when the server gave none. */
  readonly reason: string | undefined;
  /** ErrorInfo metadata, e.g. `attempts_left`, `retry_after_seconds`; empty when none. */
  readonly metadata: Readonly<Record<string, string>>;
  /** Field violations of an `invalid_argument`; empty otherwise. */
  readonly violations: readonly FieldViolation[];
}

/** Reads code, reason, metadata and field violations from anything a client call threw. */
export function readOnetimeError(error: unknown): OnetimeError {
  const connectError = ConnectError.from(error);
  const info = connectError.findDetails(ErrorInfoSchema).find((detail) => detail.domain === errorDomain);
  return {
    code: connectError.code,
    message: connectError.rawMessage,
    reason: info?.reason,
    metadata: { ...info?.metadata },
    violations: connectError.findDetails(ViolationsSchema).flatMap((detail) =>
      detail.violations.map((violation) => ({
        field: fieldPathToString(violation.field),
        ruleId: violation.ruleId,
        message: violation.message,
      })),
    ),
  };
}

/** The ErrorInfo reason of a failed call, or undefined (also for anything that is no Connect error with one). */
export function errorReason(error: unknown): string | undefined {
  return readOnetimeError(error).reason;
}

// Renders a path the way protovalidate prints it in messages: `a.b[0]`, `labels["key"]`.
function fieldPathToString(path: FieldPath | undefined): string {
  let text = "";
  for (const element of path?.elements ?? []) {
    text += text === "" ? element.fieldName : `.${element.fieldName}`;
    const { subscript } = element;
    switch (subscript.case) {
      case "stringKey":
        text += `[${JSON.stringify(subscript.value)}]`;
        break;
      case "index":
      case "intKey":
      case "uintKey":
      case "boolKey":
        text += `[${String(subscript.value)}]`;
        break;
    }
  }
  return text;
}
