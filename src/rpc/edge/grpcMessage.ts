import { encodeEnvelope, type UniversalServerResponse } from "@connectrpc/connect/protocol";
import { trailerFlag, trailerParse, trailerSerialize } from "@connectrpc/connect/protocol-grpc-web";

const grpcMessage = "grpc-message";
const envelopeBytes = 5;

/**
 * `message` percent-encoded as the gRPC spec asks of grpc-message: every byte of its UTF-8 outside
 * 0x20–0x7E, and '%' itself; nothing else.
 */
export function grpcPercentEncoded(message: string): string {
  let encoded = "";
  for (const byte of Buffer.from(message, "utf8")) {
    encoded += byte >= 0x20 && byte <= 0x7e && byte !== 0x25 ? String.fromCharCode(byte) : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return encoded;
}

/** Connect's value (encodeURIComponent of the message) re-encoded by the spec; left alone if it is not Connect's. */
function respelled(value: string): string {
  try {
    return grpcPercentEncoded(decodeURIComponent(value));
  } catch {
    return value;
  }
}

function respell(headers: Headers | undefined): void {
  const value = headers?.get(grpcMessage);
  if (value !== null && value !== undefined) headers!.set(grpcMessage, respelled(value));
}

/**
 * The response with its grpc-message spelled as the gRPC spec asks, in the headers (a
 * trailers-only answer), the trailers (gRPC) and the trailer frame (gRPC-Web). Connect writes it
 * with encodeURIComponent, which also encodes ':', ';', '/', ','; grpc-js and others decode with
 * decodeURI, or not at all, and showed callers "code%3A is not correct%3B 4 attempt(s) left".
 * `response.header` must be the caller's own copy: it is changed in place.
 */
export function withGrpcMessages(response: UniversalServerResponse): UniversalServerResponse {
  respell(response.header);
  const contentType = response.header?.get("content-type") ?? "";
  if (!contentType.startsWith("application/grpc") || response.body === undefined) return response;
  const body = response.body;
  const web = contentType.startsWith("application/grpc-web");
  async function* respelledBody(): AsyncIterable<Uint8Array> {
    for await (const chunk of body) yield web ? respelledTrailerFrame(chunk) : chunk;
    // gRPC's trailers are filled in as the body ends, and written after it.
    respell(response.trailer);
  }
  return { ...response, body: respelledBody() };
}

/** A gRPC-Web trailer frame (Connect writes each frame as one chunk) with its grpc-message respelled; any other chunk as it is. */
function respelledTrailerFrame(chunk: Uint8Array): Uint8Array {
  if (chunk.length < envelopeBytes || chunk[0] !== trailerFlag) return chunk;
  const length = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength).readUInt32BE(1);
  if (length !== chunk.length - envelopeBytes) return chunk;
  const trailer = trailerParse(chunk.subarray(envelopeBytes));
  if (!trailer.has(grpcMessage)) return chunk;
  respell(trailer);
  return encodeEnvelope(trailerFlag, trailerSerialize(trailer));
}
