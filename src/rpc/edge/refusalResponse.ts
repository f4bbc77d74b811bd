import type { ConnectError } from "@connectrpc/connect";
import { createAsyncIterable, encodeEnvelope, type UniversalServerResponse } from "@connectrpc/connect/protocol";
import { codeToHttpStatus, errorToJsonBytes } from "@connectrpc/connect/protocol-connect";
import { setTrailerStatus } from "@connectrpc/connect/protocol-grpc";
import { trailerFlag, trailerSerialize } from "@connectrpc/connect/protocol-grpc-web";
import { protocolOf } from "../callLog.js";

/**
 * A refusal written the way the caller's protocol carries errors, so every client reads a code
 * and a message rather than a bare HTTP status: a Connect JSON error body; gRPC status trailers on
 * HTTP 200; for gRPC-Web, the same status in the trailer frame of the body. The protocol is read
 * from the content type, as it is all a refused request is sure to have said.
 */
export function refusalResponse(contentType: string | null, error: ConnectError): UniversalServerResponse {
  const status = setTrailerStatus(new Headers(), error);
  error.metadata.forEach((value, key) => status.set(key, value));
  switch (protocolOf(contentType)) {
    case "grpc":
      return { status: 200, header: new Headers({ "content-type": "application/grpc+proto" }), body: createAsyncIterable([]), trailer: status };
    case "grpc-web":
      return {
        status: 200,
        header: new Headers({ "content-type": "application/grpc-web+proto" }),
        body: createAsyncIterable([encodeEnvelope(trailerFlag, trailerSerialize(status))]),
      };
    default: {
      const header = new Headers({ "content-type": "application/json" });
      error.metadata.forEach((value, key) => header.set(key, value));
      return { status: codeToHttpStatus(error.code), header, body: createAsyncIterable([errorToJsonBytes(error, {})]) };
    }
  }
}
