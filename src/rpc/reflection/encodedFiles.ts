import { toBinary, type DescFile } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { reachableFiles } from "./reachableFiles.js";

const encoded = new WeakMap<DescFile, Uint8Array>();

/**
 * The serialized FileDescriptorProto of `file` followed by those of everything it imports,
 * transitively and each once: buf curl and grpcurl build a descriptor pool from one answer and
 * fail on a missing import. The requested file comes first, as grpc-go sends it.
 */
export function encodeWithImports(file: DescFile): Uint8Array[] {
  return reachableFiles([file]).map(encode);
}

function encode(file: DescFile): Uint8Array {
  let bytes = encoded.get(file);
  if (bytes === undefined) {
    bytes = toBinary(FileDescriptorProtoSchema, file.proto);
    encoded.set(file, bytes);
  }
  return bytes;
}
