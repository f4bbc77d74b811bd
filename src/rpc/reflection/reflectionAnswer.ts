import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import {
  ServerReflectionResponseSchema,
  type ServerReflectionRequest,
  type ServerReflectionResponse,
} from "../../../gen/grpc/reflection/v1/reflection_pb.js";
import type { DescriptorIndex } from "./descriptorIndex.js";
import { encodeWithImports } from "./encodedFiles.js";

type MessageResponse = MessageInitShape<typeof ServerReflectionResponseSchema>["messageResponse"];

/**
 * Answers one request of a ServerReflectionInfo stream. Failures are answered as an
 * `error_response` rather than thrown, because the spec keeps the stream open after one: a client
 * probing for a symbol it does not know must still be able to ask for the next.
 */
export function answerReflectionRequest(index: DescriptorIndex, request: ServerReflectionRequest): ServerReflectionResponse {
  return create(ServerReflectionResponseSchema, {
    validHost: request.host,
    originalRequest: request,
    messageResponse: messageResponse(index, request.messageRequest),
  });
}

function messageResponse(index: DescriptorIndex, query: ServerReflectionRequest["messageRequest"]): MessageResponse {
  switch (query.case) {
    case "listServices":
      return { case: "listServicesResponse", value: { service: index.serviceNames.map((name) => ({ name })) } };
    case "fileByFilename": {
      const file = index.findFile(query.value);
      return file ? fileResponse(encodeWithImports(file)) : notFound(`file "${query.value}" not found`);
    }
    case "fileContainingSymbol": {
      const file = index.findFileContainingSymbol(query.value);
      return file ? fileResponse(encodeWithImports(file)) : notFound(`symbol "${query.value}" not found`);
    }
    case "fileContainingExtension": {
      const { containingType, extensionNumber } = query.value;
      const file = index.findFileContainingExtension(containingType, extensionNumber);
      return file
        ? fileResponse(encodeWithImports(file))
        : notFound(`extension ${extensionNumber} of "${containingType}" not found`);
    }
    case "allExtensionNumbersOfType": {
      const numbers = index.findExtensionNumbers(query.value);
      return numbers
        ? { case: "allExtensionNumbersResponse", value: { baseTypeName: query.value, extensionNumber: [...numbers] } }
        : notFound(`message type "${query.value}" not found`);
    }
    case undefined:
      return error(Code.InvalidArgument, "message_request is not set");
  }
}

function fileResponse(fileDescriptorProto: Uint8Array[]): MessageResponse {
  return { case: "fileDescriptorResponse", value: { fileDescriptorProto } };
}

function notFound(message: string): MessageResponse {
  return error(Code.NotFound, message);
}

/** Connect's codes are gRPC's status codes, which is what `error_code` carries. */
function error(code: Code, errorMessage: string): MessageResponse {
  return { case: "errorResponse", value: { errorCode: code, errorMessage } };
}
