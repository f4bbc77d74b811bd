import { ConnectError } from "@connectrpc/connect";
import { createAsyncIterable, type UniversalServerResponse } from "@connectrpc/connect/protocol";
import { codeFromHttpStatus, errorFromJsonBytes } from "@connectrpc/connect/protocol-connect";
import { brotliDecompressSync, gunzipSync } from "node:zlib";
import { findTrailerError } from "@connectrpc/connect/protocol-grpc";
import { trailerFlag, trailerParse } from "@connectrpc/connect/protocol-grpc-web";
import { protocolOf } from "../callLog.js";

/**
 * Reads what a response answered: Connect's own refusals (an undecodable message, say) are written
 * before any interceptor runs, so the error exists only in the response. Calls `onEnd` once the
 * body is through, with the error it carried, if any; returns the response with its body intact.
 */
export function readAnswer(response: UniversalServerResponse, contentType: string | null, onEnd: (error: ConnectError | undefined) => void): UniversalServerResponse {
  const protocol = protocolOf(contentType);
  const body = response.body ?? createAsyncIterable([]);
  async function* observed(): AsyncIterable<Uint8Array> {
    let last: Uint8Array | undefined;
    const chunks: Uint8Array[] = [];
    try {
      for await (const chunk of body) {
        last = chunk;
        // Only a Connect error needs its body read whole; it is small.
        if (protocol === "connect" && response.status !== 200) chunks.push(chunk);
        yield chunk;
      }
    } finally {
      onEnd(errorIn(response, protocol, chunks, last));
    }
  }
  return { ...response, body: observed() };
}

function errorIn(response: UniversalServerResponse, protocol: string, chunks: Uint8Array[], last: Uint8Array | undefined): ConnectError | undefined {
  if (protocol === "connect") return response.status === 200 ? undefined : connectErrorIn(response, Buffer.concat(chunks));
  try {
    if (protocol === "grpc") return findTrailerError(new Headers(response.trailer)) ?? findTrailerError(new Headers(response.header));
    // gRPC-Web: the status is in the trailer frame, the last in the body; a refusal before any
    // message has no other frame in front of it.
    if (last !== undefined && last.length > 5 && (last[0]! & trailerFlag) === trailerFlag) return findTrailerError(trailerParse(last.subarray(5)));
    return findTrailerError(new Headers(response.header));
  } catch {
    return undefined;
  }
}

/**
 * A Connect error body, compressed as the client accepted (Connect gzips an answer over 1 KiB for
 * a client that accepts gzip). One that cannot be read is still a refusal, by its HTTP status:
 * counting it as a success would hide it from the log and the metrics.
 */
function connectErrorIn(response: UniversalServerResponse, body: Buffer): ConnectError {
  const fallback = new ConnectError("unreadable error body", codeFromHttpStatus(response.status));
  try {
    const encoding = response.header?.get("content-encoding");
    const json = encoding === "gzip" ? gunzipSync(body) : encoding === "br" ? brotliDecompressSync(body) : body;
    return errorFromJsonBytes(json, undefined, fallback);
  } catch {
    return fallback;
  }
}
