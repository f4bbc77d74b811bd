import { createContextKey, createContextValues, type ContextValues } from "@connectrpc/connect";
import type { IncomingMessage } from "node:http";
import type { Http2ServerRequest } from "node:http2";

/** The caller's network address: what public RPCs are rate-limited by. */
export const clientAddressKey = createContextKey<string>("unknown", { description: "client address" });

/**
 * The client's address: the socket's peer, or, behind `trustedHops` reverse proxies, the
 * X-Forwarded-For entry that the outermost trusted proxy saw. Entries further left were written
 * by the client itself and are never believed.
 */
export function clientAddressOf(request: IncomingMessage | Http2ServerRequest, trustedHops: number): string {
  const peer = peerAddress(request.socket) ?? "unknown";
  if (trustedHops === 0) return peer;
  const header = request.headers["x-forwarded-for"];
  const forwarded = (Array.isArray(header) ? header.join(",") : (header ?? ""))
    .split(",")
    .map((entry) => entry.trim())
    .filter((entry) => entry.length > 0);
  return forwarded[forwarded.length - trustedHops] ?? forwarded[0] ?? peer;
}

/**
 * The socket's peer. A connection httpolyglot sniffed as h2c reaches the HTTP/2 server with the
 * sniffed bytes pushed back, so Node wraps it in a JSStreamSocket, which knows no address of its
 * own: the address is that of the socket it wraps (`stream`).
 */
function peerAddress(socket: { readonly remoteAddress?: string | undefined }): string | undefined {
  return socket.remoteAddress ?? (socket as { readonly stream?: { readonly remoteAddress?: string } }).stream?.remoteAddress;
}

export function clientContextValues(trustedHops: number) {
  return (request: IncomingMessage | Http2ServerRequest): ContextValues =>
    createContextValues().set(clientAddressKey, clientAddressOf(request, trustedHops));
}
