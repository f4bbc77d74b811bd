import { create, fromBinary, type DescMessage } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { parseContentType as parseConnectType } from "@connectrpc/connect/protocol-connect";
import { parseContentType as parseGrpcType } from "@connectrpc/connect/protocol-grpc";
import { parseContentType as parseGrpcWebType } from "@connectrpc/connect/protocol-grpc-web";
import { ErrorInfoSchema } from "../../../gen/google/rpc/error_details_pb.js";
import { errorDomain } from "../interceptors/errorBoundary.js";
import { tooLarge } from "./requestSizeLimit.js";

/** ErrorInfo reason of a request body that is no message of the RPC's request type. */
export const malformedMessageReason = "MALFORMED_MESSAGE";

const envelopeBytes = 5;
const compressedFlag = 0x01;

/** How a request carries its messages, read from its headers; undefined: nothing to check here. */
interface Framing {
  readonly enveloped: boolean;
  /** Protobuf binary (JSON is read, and refused field by field, by wireFormat.ts). */
  readonly binary: boolean;
  /** The header that would name a compression, for the refusal of a compressed message without one. */
  readonly encodingHeader: string;
}

function framingOf(header: Headers): Framing | undefined {
  const contentType = header.get("content-type");
  const grpc = parseGrpcType(contentType);
  if (grpc !== undefined) return { enveloped: true, binary: grpc.binary, encodingHeader: "grpc-encoding" };
  const grpcWeb = parseGrpcWebType(contentType);
  // grpc-web-text is refused by Connect as a content type, before any body is read.
  if (grpcWeb !== undefined) return grpcWeb.text ? undefined : { enveloped: true, binary: grpcWeb.binary, encodingHeader: "grpc-encoding" };
  const connect = parseConnectType(contentType);
  if (connect === undefined) return undefined;
  return connect.stream
    ? { enveloped: true, binary: connect.binary, encodingHeader: "connect-content-encoding" }
    : { enveloped: false, binary: connect.binary, encodingHeader: "content-encoding" };
}

/**
 * The request body, refused as `invalid_argument` (reason {@link malformedMessageReason}) when it
 * holds something that is no `input` message, before Connect reads it: Connect's own parse fails
 * as `internal` with protobuf-es's words ("premature EOF", "illegal tag"), as if the server had
 * failed, and a message flagged compressed with no encoding named fails the same way. An envelope
 * that declares more than `maxRequestBytes` is refused as too large as soon as its header arrives,
 * in the words of requestSizeLimit.ts rather than Connect's `readMaxBytes`.
 *
 * Binary messages are parsed here once more than Connect does; they are at most MAX_REQUEST_BYTES.
 * A request that names a compression is left to Connect, which accepts none and says so.
 */
export function readableMessages(body: AsyncIterable<Uint8Array>, header: Headers, input: DescMessage, maxRequestBytes: number): AsyncIterable<Uint8Array> {
  const framing = framingOf(header);
  // Connect unary JSON: nothing framed, nothing binary; wireFormat.ts reads it.
  if (framing === undefined || (!framing.enveloped && !framing.binary)) return body;
  const encoding = header.get(framing.encodingHeader);
  if (encoding !== null && encoding !== "identity") return body;
  return framing.enveloped ? checkedEnvelopes(body, framing, input, maxRequestBytes) : checkedWhole(body, input);
}

async function* checkedWhole(body: AsyncIterable<Uint8Array>, input: DescMessage): AsyncIterable<Uint8Array> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of body) {
    chunks.push(chunk);
    yield chunk;
  }
  // Thrown before the body ends, so Connect, which parses once it has read all, never does.
  if (!parses(input, Buffer.concat(chunks))) throw malformed(input, "it cannot be read as protobuf binary");
}

async function* checkedEnvelopes(body: AsyncIterable<Uint8Array>, framing: Framing, input: DescMessage, maxRequestBytes: number): AsyncIterable<Uint8Array> {
  let pending = Buffer.alloc(0);
  for await (const chunk of body) {
    pending = pending.length === 0 ? Buffer.from(chunk) : Buffer.concat([pending, chunk]);
    while (pending.length >= envelopeBytes) {
      const flags = pending[0]!;
      const length = pending.readUInt32BE(1);
      if (length > maxRequestBytes) throw tooLarge(maxRequestBytes);
      if (pending.length < envelopeBytes + length) break;
      if ((flags & compressedFlag) !== 0) {
        throw malformed(input, `its message is flagged compressed, but the request names no encoding (${framing.encodingHeader}): send it uncompressed`);
      }
      // Other flags (end of stream, trailers) are Connect's to judge.
      if (framing.binary && flags === 0 && !parses(input, pending.subarray(envelopeBytes, envelopeBytes + length))) {
        throw malformed(input, "a message in it cannot be read as protobuf binary");
      }
      pending = pending.subarray(envelopeBytes + length);
    }
    yield chunk;
  }
  if (pending.length > 0) throw malformed(input, "it ends inside a message (the envelope says more bytes than were sent)");
}

function parses(input: DescMessage, bytes: Uint8Array): boolean {
  try {
    fromBinary(input, bytes);
    return true;
  } catch {
    return false;
  }
}

function malformed(input: DescMessage, why: string): ConnectError {
  return new ConnectError(
    `the request body is not a valid ${input.typeName} message: ${why}. Check that the client is built from this server's .proto files and that its content type says how the body is encoded`,
    Code.InvalidArgument,
    undefined,
    [{ desc: ErrorInfoSchema, value: create(ErrorInfoSchema, { reason: malformedMessageReason, domain: errorDomain }) }],
  );
}
