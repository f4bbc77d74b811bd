import type { DescEnum, DescFile, DescMessage } from "@bufbuild/protobuf";
import { extensionsOf, messagesOf } from "./declaredTypes.js";

/**
 * Every fully-qualified name a file declares, as grpc-go (protoregistry) and grpc C++
 * (DescriptorPool) resolve `file_containing_symbol`: services, methods, messages at any depth
 * (map entries included), fields, oneofs, enums, enum values and extensions.
 */
export function* declaredSymbols(file: DescFile): Generator<string> {
  for (const service of file.services) {
    yield service.typeName;
    for (const method of service.methods) yield `${service.typeName}.${method.name}`;
  }
  for (const enumeration of file.enums) yield* enumSymbols(enumeration, file.proto.package);
  for (const message of messagesOf(file)) yield* messageSymbols(message);
  for (const extension of extensionsOf(file)) yield extension.typeName;
}

function* messageSymbols(message: DescMessage): Generator<string> {
  yield message.typeName;
  for (const field of message.fields) {
    yield `${message.typeName}.${field.name}`;
    // protobuf-es folds map entries into the field; clients still see them as nested messages.
    if (field.fieldKind === "map") yield field.proto.typeName.replace(/^\./, "");
  }
  for (const oneof of message.oneofs) yield `${message.typeName}.${oneof.name}`;
  for (const enumeration of message.nestedEnums) yield* enumSymbols(enumeration, message.typeName);
}

/**
 * Enum values are yielded twice: protobuf scopes them as siblings of their enum (`pkg.VALUE`),
 * which is what grpc-go and C++ answer, while grpc-node answers `pkg.Enum.VALUE`; clients have
 * been written against both, and the two forms cannot collide with any other declaration.
 */
function* enumSymbols(enumeration: DescEnum, scope: string): Generator<string> {
  yield enumeration.typeName;
  const prefix = scope === "" ? "" : `${scope}.`;
  for (const value of enumeration.values) {
    yield `${prefix}${value.name}`;
    yield `${enumeration.typeName}.${value.name}`;
  }
}
