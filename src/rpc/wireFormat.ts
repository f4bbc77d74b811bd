import { fromJsonString, type DescMessage } from "@bufbuild/protobuf";
import { configureTextEncoding, getTextEncoding } from "@bufbuild/protobuf/wire";
import { Code, ConnectError, createServiceImplSpec, type ConnectRouter } from "@connectrpc/connect";
import type { ConnectNodeAdapterOptions } from "@connectrpc/connect-node";
import { unreadableField } from "./fieldViolations.js";
import { decodeUtf8Marked } from "./markedUtf8.js";
import { findUnreadableJson, jsonReadOptions, nonObjectJson } from "./unreadableJson.js";

type Routes = ConnectNodeAdapterOptions["routes"];
/**
 * Handler JSON options as Connect reads them: its handler types leave out `textDecoder`, but
 * handlers build their JSON serialization with the same function as clients, which takes it
 * (connect `protocol/serialization.ts`, createJsonSerialization). The malformed-input tests would
 * catch an upgrade that stopped honouring it.
 */
type JsonOptions = NonNullable<ConnectNodeAdapterOptions["jsonOptions"]> & {
  textDecoder: { decode(bytes?: Uint8Array): string };
};

/**
 * How requests are read off the wire, for every protocol, so that no two different requests
 * read as one:
 * - Text that is not UTF-8 is marked, not replaced with U+FFFD (see markedUtf8.ts);
 *   `wellFormedStrings` then refuses the marked field.
 * - JSON keys that name no field and enum names that name no value are refused, not skipped.
 * - A refused JSON request names the field: Connect parses a request before any interceptor runs,
 *   so the JSON decoder of each RPC does it (see {@link jsonOptionsFor}).
 */
export function wireFormat(routes: Routes): Pick<ConnectNodeAdapterOptions, "routes"> {
  markInvalidUtf8InBinary();
  return { routes: (router) => routes(registeringEachRpc(router)) };
}

const defaultTextEncoding = getTextEncoding();

/**
 * protobuf-es decodes proto3 strings with a fatal decoder: invalid UTF-8 in a binary request
 * would fail the whole parse as an internal error naming no field. Marking it instead lets the
 * request reach `wellFormedStrings`. Strings without UTF-8 validation (proto2) keep protobuf-es'
 * behaviour. The setting is process-wide, hence done once.
 */
function markInvalidUtf8InBinary(): void {
  if (getTextEncoding().decodeUtf8 === decodeProtobufString) return;
  configureTextEncoding({
    encodeUtf8: (text) => defaultTextEncoding.encodeUtf8(text),
    checkUtf8: (text) => defaultTextEncoding.checkUtf8(text),
    decodeUtf8: decodeProtobufString,
  });
}

function decodeProtobufString(bytes: Uint8Array, strict?: boolean): string {
  return strict === true ? decodeUtf8Marked(bytes) : defaultTextEncoding.decodeUtf8(bytes, strict);
}

/**
 * A router that registers each RPC on its own, so that each gets a JSON decoder that knows its
 * request type. Connect's options are otherwise per router, and its decoder sees only bytes.
 */
function registeringEachRpc(router: ConnectRouter): ConnectRouter {
  const each: ConnectRouter = {
    handlers: router.handlers,
    service(service, implementation, options) {
      for (const spec of Object.values(createServiceImplSpec(service, implementation).methods)) {
        router.rpc(spec.method, spec.impl, { ...options, jsonOptions: jsonOptionsFor(spec.method.input) });
      }
      return each;
    },
    rpc(method, implementation, options) {
      router.rpc(method, implementation, { ...options, jsonOptions: jsonOptionsFor(method.input) });
      return each;
    },
  };
  return each;
}

/**
 * Connect reads JSON as `fromJsonString(textDecoder.decode(bytes))`, and its decoder is the one
 * step that can throw an error of our own. So the decoder reads the request once itself and, if
 * protobuf-es refuses it, throws the refusal with the field named. That reads every JSON request
 * twice; JSON requests are small, and a JSON caller is served by one clear error.
 */
function jsonOptionsFor(input: DescMessage): JsonOptions {
  return {
    ...jsonReadOptions,
    textDecoder: {
      decode(bytes = new Uint8Array()) {
        const text = decodeUtf8Marked(withoutByteOrderMark(bytes));
        try {
          fromJsonString(input, text, jsonReadOptions);
        } catch {
          const found = findUnreadableJson(input, text);
          if (found !== undefined) throw unreadableField(found);
          const shape = nonObjectJson(text);
          if (shape !== undefined) throw new ConnectError(`the request must be a JSON object (${input.typeName}), not ${shape}`, Code.InvalidArgument);
          // Nowhere to point at: Connect's own parse refuses it as before.
        }
        return text;
      },
    },
  };
}

// A byte order mark is not JSON, but TextDecoder drops a leading one by default and clients that
// send one worked before; inside a protobuf string, where markedUtf8 keeps it, it is content.
function withoutByteOrderMark(bytes: Uint8Array): Uint8Array {
  return bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? bytes.subarray(3) : bytes;
}
