import { request as http1Request } from "node:http";
import { connect as http2Connect } from "node:http2";
import { Code, ConnectError } from "@connectrpc/connect";
import { errorFromJsonBytes } from "@connectrpc/connect/protocol-connect";
import { findTrailerError } from "@connectrpc/connect/protocol-grpc";
import { expect } from "vitest";

/** Requests written byte by byte, for what no client library would send. */

export function envelope(message: Uint8Array): Buffer {
  const head = Buffer.alloc(5);
  head.writeUInt32BE(message.byteLength, 1);
  return Buffer.concat([head, message]);
}

export interface RawResponse {
  readonly status: number;
  readonly headers: Headers;
  readonly body: Buffer;
  readonly trailers: Headers;
}

export function toHeaders(raw: Record<string, string | string[] | number | undefined>): Headers {
  const headers = new Headers();
  for (const [name, value] of Object.entries(raw)) {
    if (name.startsWith(":") || value === undefined) continue;
    for (const one of Array.isArray(value) ? value : [value]) headers.append(name, String(one));
  }
  return headers;
}

export function postHttp1(baseUrl: string, path: string, headers: Record<string, string>, body: Buffer): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const call = http1Request(new URL(path, baseUrl), { method: "POST", headers }, (response) => {
      const chunks: Buffer[] = [];
      response.on("data", (chunk: Buffer) => chunks.push(chunk));
      response.on("end", () =>
        resolve({ status: response.statusCode ?? 0, headers: toHeaders(response.headers), body: Buffer.concat(chunks), trailers: toHeaders(response.trailers) }),
      );
      response.on("error", reject);
    });
    call.on("error", reject);
    call.end(body);
  });
}

export function postHttp2(baseUrl: string, path: string, headers: Record<string, string>, body: Buffer): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const session = http2Connect(baseUrl);
    session.on("error", reject);
    const stream = session.request({ ":method": "POST", ":path": path, ...headers });
    let status = 0;
    let responseHeaders = new Headers();
    let trailers = new Headers();
    const chunks: Buffer[] = [];
    stream.on("response", (raw) => {
      status = Number(raw[":status"]);
      responseHeaders = toHeaders(raw);
    });
    stream.on("trailers", (raw) => {
      trailers = toHeaders(raw);
    });
    stream.on("data", (chunk: Buffer) => chunks.push(chunk));
    stream.on("end", () => {
      session.close();
      resolve({ status, headers: responseHeaders, body: Buffer.concat(chunks), trailers });
    });
    stream.on("error", reject);
    stream.end(body);
  });
}

/** The error a Connect unary response carries, decoded as a client would. */
export function connectError(response: RawResponse): ConnectError {
  expect(response.status).not.toBe(200);
  return errorFromJsonBytes(response.body, response.headers, new ConnectError("no error in the body", Code.Unknown));
}

/** The gRPC status of a response: trailers (or trailers-only headers) on HTTP/2. */
export function grpcError(response: RawResponse): ConnectError {
  const error = findTrailerError(response.trailers) ?? findTrailerError(response.headers);
  if (error === undefined) throw new Error("the call succeeded but was expected to fail");
  return error;
}

/** gRPC-Web sends its trailers as the last envelope of the body, flagged 0x80. */
export function grpcWebError(response: RawResponse): ConnectError {
  const trailers = new Headers();
  for (let at = 0; at < response.body.length; ) {
    const flags = response.body[at]!;
    const length = response.body.readUInt32BE(at + 1);
    if ((flags & 0x80) !== 0) {
      for (const line of response.body.subarray(at + 5, at + 5 + length).toString().split("\r\n")) {
        const colon = line.indexOf(":");
        if (colon > 0) trailers.append(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
      }
    }
    at += 5 + length;
  }
  const error = findTrailerError(trailers) ?? findTrailerError(response.headers);
  if (error === undefined) throw new Error("the call succeeded but was expected to fail");
  return error;
}


/** A Connect streaming response ends with an envelope flagged 0x02 holding `{"error": …}` as JSON. */
export function connectStreamError(response: RawResponse): ConnectError {
  expect(response.status).toBe(200);
  for (let at = 0; at < response.body.length; ) {
    const flags = response.body[at]!;
    const length = response.body.readUInt32BE(at + 1);
    if ((flags & 0x02) !== 0) {
      const end = JSON.parse(response.body.subarray(at + 5, at + 5 + length).toString()) as { error?: unknown };
      if (end.error === undefined) throw new Error("the stream ended without an error");
      return errorFromJsonBytes(Buffer.from(JSON.stringify(end.error)), response.headers, new ConnectError("unreadable end of stream", Code.Unknown));
    }
    at += 5 + length;
  }
  throw new Error("no end-of-stream message in the response");
}
