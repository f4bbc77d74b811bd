import { create } from "@bufbuild/protobuf";
import { pathToString, type Path } from "@bufbuild/protobuf/reflect";
import { Code, ConnectError } from "@connectrpc/connect";
import { violationToProto, Violation } from "@bufbuild/protovalidate";
import { FieldPathElementSchema, FieldPathSchema, ViolationsSchema } from "@bufbuild/protovalidate/gen/buf/validate/validate_pb.js";

/** One part of a request that could not be read as its schema says, before any field rule runs. */
export interface UnreadableField {
  /** Where in the request, from its root message. */
  readonly path: Path;
  /** A JSON key under `path` that names no field: it has no descriptor to join the path. */
  readonly unknownKey?: string;
  readonly ruleId: string;
  readonly message: string;
}

/** Text that was not UTF-8 where it was read: the same words whether JSON or binary carried it. */
export const notUtf8 = { ruleId: "utf8", message: "must be valid UTF-8" } as const;

/**
 * Refuses a request the way protovalidate's interceptor refuses a broken field rule:
 * `invalid_argument` with a buf.validate.Violations detail, so callers read one shape whether
 * the wire or a rule was at fault.
 */
export function unreadableField(field: UnreadableField): ConnectError {
  const [violation] = violationToProto(new Violation(field.message, field.ruleId, field.path, [], false));
  let name = pathToString(field.path);
  if (field.unknownKey !== undefined) {
    violation.field = create(FieldPathSchema, {
      elements: [...(violation.field?.elements ?? []), create(FieldPathElementSchema, { fieldName: field.unknownKey })],
    });
    name = name === "" ? field.unknownKey : `${name}.${field.unknownKey}`;
  }
  return new ConnectError(`${name}: ${field.message} [${field.ruleId}]`, Code.InvalidArgument, undefined, [
    { desc: ViolationsSchema, value: create(ViolationsSchema, { violations: [violation] }) },
  ]);
}
