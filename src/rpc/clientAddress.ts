import { createContextKey, createContextValues, type ContextValues } from "@connectrpc/connect";
import { BlockList } from "node:net";
import type { IncomingMessage } from "node:http";
import type { Http2ServerRequest } from "node:http2";
import { canonicalAddress, familyOf, networkOf, type Subnet } from "../net/ipAddress.js";

/** Who a call comes from, as far as the network can tell. */
export interface ClientAddress {
  /** The caller's address, canonical (see net/ipAddress.ts): what is audited and given to the CAPTCHA provider. */
  readonly address: string;
  /** What per-client limits count: the IPv4 address, or the IPv6 network around it (`2001:db8:1:2::/64`). */
  readonly network: string;
}

const unknown: ClientAddress = { address: "unknown", network: "unknown" };

/** The caller's network address: what public RPCs are rate-limited by. */
export const clientAddressKey = createContextKey<ClientAddress>(unknown, { description: "client address" });

export interface ClientAddressRules {
  /** Proxies whose X-Forwarded-For is believed, as peers and as hops within the header; default none. */
  readonly trustedProxies: readonly Subnet[];
  /** Bits of an IPv6 address that name one caller for the limits; default 64. */
  readonly ipv6PrefixLength: number;
}

/**
 * The client of a request: the socket's peer, unless the peer is a trusted proxy. Then
 * X-Forwarded-For is read from the right, each entry written by the hop to its right, skipping
 * trusted proxies: the first untrusted entry is the client. Entries left of it were written by
 * the client itself (or by hops nobody vouches for) and are never believed; nor is anything left
 * of an entry that is not an address, where the last trusted hop seen stands in for the client.
 * A header of trusted hops only names the leftmost of them.
 */
export function clientAddressResolver(rules: ClientAddressRules): (request: IncomingMessage | Http2ServerRequest) => ClientAddress {
  const trusted = new BlockList();
  for (const { address, prefix, family } of rules.trustedProxies) trusted.addSubnet(address, prefix, family);
  const isTrusted = (address: string) => trusted.check(address, familyOf(address));

  // The peer is the connection's, so what it says is read once per connection, not per call. An
  // HTTP/2 request's socket is a proxy made per stream: its session stands for the connection.
  const peers = new WeakMap<object, { readonly address: string; readonly trusted: boolean; readonly client: ClientAddress } | null>();
  const peerOf = (request: IncomingMessage | Http2ServerRequest) => {
    const connection = ("stream" in request ? request.stream.session : undefined) ?? request.socket;
    let known = peers.get(connection);
    if (known !== undefined) return known;
    const address = canonicalAddress(request.socket.remoteAddress ?? "");
    known = address === undefined ? null : { address, trusted: isTrusted(address), client: { address, network: networkOf(address, rules.ipv6PrefixLength) } };
    peers.set(connection, known);
    return known;
  };

  return (request) => {
    const known = peerOf(request);
    if (known === null) return unknown;
    if (!known.trusted) return known.client;
    let client = known.address;
    const entries = forwardedFor(request.headers["x-forwarded-for"]);
    for (let index = entries.length - 1; index >= 0; index--) {
      const entry = forwardedAddress(entries[index]!);
      if (entry === undefined) break;
      client = entry;
      if (!isTrusted(entry)) break;
    }
    return { address: client, network: networkOf(client, rules.ipv6PrefixLength) };
  };
}

/** The header's entries in order, several X-Forwarded-For headers read as one list. */
function forwardedFor(header: string | string[] | undefined): string[] {
  return (Array.isArray(header) ? header.join(",") : (header ?? ""))
    .split(",")
    .map((entry) => entry.trim())
    .filter((entry) => entry.length > 0);
}

/** The address of one X-Forwarded-For entry: `192.0.2.7`, `2001:db8::7`, `[2001:db8::7]`, with or without a port. */
function forwardedAddress(entry: string): string | undefined {
  const bare = canonicalAddress(entry);
  if (bare !== undefined) return bare;
  const written = /^\[([^\]]+)\](?::\d{1,5})?$/.exec(entry)?.[1] ?? /^(\d+\.\d+\.\d+\.\d+):\d{1,5}$/.exec(entry)?.[1];
  return written === undefined ? undefined : canonicalAddress(written);
}

export function clientContextValues(rules: ClientAddressRules) {
  const clientOf = clientAddressResolver(rules);
  return (request: IncomingMessage | Http2ServerRequest): ContextValues => createContextValues().set(clientAddressKey, clientOf(request));
}
