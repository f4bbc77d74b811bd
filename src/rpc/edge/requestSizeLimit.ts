import { Code, ConnectError } from "@connectrpc/connect";
import { protocolOf } from "../callLog.js";

// gRPC and gRPC-Web put a 5-byte envelope in front of the message.
const envelopeBytes = 5;

/**
 * What Connect's `readMaxBytes` is set to: enough for a message of `MAX_REQUEST_BYTES` in any
 * protocol, so that {@link limitRequestBody} refuses first, with a message naming the setting
 * rather than Connect's internal option.
 */
export function connectReadMaxBytes(maxRequestBytes: number): number {
  return maxRequestBytes + envelopeBytes;
}

export function tooLarge(maxRequestBytes: number): ConnectError {
  return new ConnectError(
    `the request message is larger than MAX_REQUEST_BYTES allows (${maxRequestBytes} bytes): send a smaller one, or raise MAX_REQUEST_BYTES on the server`,
    Code.ResourceExhausted,
  );
}

function allowedBytes(header: Headers, maxRequestBytes: number): number {
  return maxRequestBytes + (protocolOf(header.get("content-type")) === "connect" ? 0 : envelopeBytes);
}

/** Whether the request's Content-Length already says it is too large (checked before Connect's). */
export function declaredTooLarge(header: Headers, maxRequestBytes: number): boolean {
  return Number(header.get("content-length") ?? "0") > allowedBytes(header, maxRequestBytes);
}

/**
 * The request body, refused with {@link tooLarge} once it passes the limit (a body with no
 * Content-Length). Connect turns the error into the protocol's answer. A body with one is left as
 * it is: {@link declaredTooLarge} judged its length, and neither Node's HTTP/1.1 parser nor its
 * HTTP/2 session (nghttp2 checks DATA against Content-Length) lets a body run past what it declares.
 */
export function limitRequestBody(body: AsyncIterable<Uint8Array>, header: Headers, maxRequestBytes: number): AsyncIterable<Uint8Array> {
  if (header.get("content-length") !== null) return body;
  const allowed = allowedBytes(header, maxRequestBytes);
  return {
    async *[Symbol.asyncIterator]() {
      let read = 0;
      for await (const chunk of body) {
        read += chunk.byteLength;
        if (read > allowed) throw tooLarge(maxRequestBytes);
        yield chunk;
      }
    },
  };
}
