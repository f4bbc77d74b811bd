import { createServer, type IncomingMessage } from "node:http";
import { connect, type AddressInfo } from "node:net";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/config.js";
import { clientAddressResolver, type ClientAddress } from "../../src/rpc/clientAddress.js";

/** The resolver onetime builds from these settings. */
function resolver(trustedProxies: string, ipv6PrefixLength = "64"): (request: IncomingMessage) => ClientAddress {
  return clientAddressResolver(loadConfig({ TRUSTED_PROXIES: trustedProxies, CLIENT_IPV6_PREFIX_LENGTH: ipv6PrefixLength }).clientAddress);
}

function request(peer: string, forwardedFor?: string | string[]): IncomingMessage {
  return { socket: { remoteAddress: peer }, headers: forwardedFor === undefined ? {} : { "x-forwarded-for": forwardedFor } } as unknown as IncomingMessage;
}

const addressOf = (trusted: string, peer: string, forwardedFor?: string | string[]) => resolver(trusted)(request(peer, forwardedFor)).address;

describe("client address", () => {
  it("reads each call's X-Forwarded-For afresh on a connection whose peer it has already judged", () => {
    const resolve = resolver("10.0.0.0/8");
    const socket = { remoteAddress: "10.0.0.5" };
    const on = (forwardedFor: string) => ({ socket, headers: { "x-forwarded-for": forwardedFor } }) as unknown as IncomingMessage;
    expect(resolve(on("198.51.100.1")).address).toBe("198.51.100.1");
    expect(resolve(on("198.51.100.2")).address).toBe("198.51.100.2");
    expect(resolve({ socket, headers: {} } as unknown as IncomingMessage).address).toBe("10.0.0.5");
  });

  it("is the peer when the peer is not a trusted proxy, whatever X-Forwarded-For it forged", () => {
    expect(addressOf("", "203.0.113.7", "198.51.100.1")).toBe("203.0.113.7");
    // Trusting some proxies changes nothing for a caller that reaches the port directly.
    expect(addressOf("10.0.0.0/8", "203.0.113.7", "198.51.100.1")).toBe("203.0.113.7");
    expect(addressOf("10.0.0.0/8", "203.0.113.7", "198.51.100.1, 10.0.0.5")).toBe("203.0.113.7");
  });

  it("is the rightmost untrusted X-Forwarded-For entry when the peer is a trusted proxy, not what the client wrote to its left", () => {
    // The client forged "1.1.1.1"; the trusted proxy appended the peer it saw, 198.51.100.9.
    expect(addressOf("10.0.0.2", "10.0.0.2", "1.1.1.1, 198.51.100.9")).toBe("198.51.100.9");
    expect(addressOf("10.0.0.0/8", "10.0.0.2", "198.51.100.9")).toBe("198.51.100.9");
  });

  it("skips every trusted proxy in a chain of two", () => {
    // client -> load balancer 10.0.0.5 -> nginx 10.0.0.2 -> onetime
    expect(addressOf("10.0.0.2, 10.0.0.5", "10.0.0.2", "1.1.1.1, 198.51.100.9, 10.0.0.5")).toBe("198.51.100.9");
    // The same chain with only nginx trusted: the load balancer is the client.
    expect(addressOf("10.0.0.2", "10.0.0.2", "1.1.1.1, 198.51.100.9, 10.0.0.5")).toBe("10.0.0.5");
  });

  it("is the leftmost entry when every entry is a trusted proxy, and the peer without a header", () => {
    expect(addressOf("10.0.0.0/8", "10.0.0.2", "10.0.0.7, 10.0.0.5")).toBe("10.0.0.7");
    expect(addressOf("10.0.0.0/8", "10.0.0.2")).toBe("10.0.0.2");
    expect(addressOf("10.0.0.0/8", "10.0.0.2", " , ")).toBe("10.0.0.2");
  });

  it("stops at an entry that is not an address: the last trusted hop stands in, never the garbage nor what lies left of it", () => {
    expect(addressOf("10.0.0.0/8", "10.0.0.2", "198.51.100.1, unknown")).toBe("10.0.0.2");
    expect(addressOf("10.0.0.0/8", "10.0.0.2", "198.51.100.1, not an address, 10.0.0.5")).toBe("10.0.0.5");
    expect(addressOf("10.0.0.0/8", "10.0.0.2", "198.51.100.1, 300.1.1.1")).toBe("10.0.0.2");
    expect(addressOf("10.0.0.0/8", "10.0.0.2", "198.51.100.1, 10.0.0.0/8")).toBe("10.0.0.2");
  });

  it("reads entries with ports and bracketed IPv6, written canonically", () => {
    expect(addressOf("10.0.0.0/8", "10.0.0.2", "198.51.100.1:5678")).toBe("198.51.100.1");
    expect(addressOf("10.0.0.0/8", "10.0.0.2", "[2001:DB8::7]:80")).toBe("2001:db8::7");
    expect(addressOf("10.0.0.0/8", "10.0.0.2", "[2001:db8:0:0::7]")).toBe("2001:db8::7");
    expect(addressOf("10.0.0.0/8", "10.0.0.2", "2001:db8::7")).toBe("2001:db8::7");
    // A port on an unbracketed IPv6 address cannot be told from its last group: not an address.
    expect(addressOf("10.0.0.0/8", "10.0.0.2", "198.51.100.1, 2001:db8::7]:80")).toBe("10.0.0.2");
  });

  it("takes an IPv4-mapped IPv6 peer, entry or trusted subnet as the IPv4 address it maps", () => {
    expect(addressOf("10.0.0.0/8", "::ffff:10.0.0.2", "198.51.100.1")).toBe("198.51.100.1");
    expect(addressOf("::ffff:10.0.0.0/104", "10.0.0.2", "198.51.100.1")).toBe("198.51.100.1");
    expect(addressOf("10.0.0.0/8", "10.0.0.2", "::ffff:198.51.100.1")).toBe("198.51.100.1");
    expect(addressOf("10.0.0.0/8", "10.0.0.2", "198.51.100.1, ::ffff:10.0.0.5")).toBe("198.51.100.1");
    expect(addressOf("", "::ffff:203.0.113.7")).toBe("203.0.113.7");
  });

  it("reads several X-Forwarded-For headers as one list, in order", () => {
    expect(addressOf("10.0.0.0/8", "10.0.0.2", ["198.51.100.1", "198.51.100.2, 10.0.0.5"])).toBe("198.51.100.2");
    expect(addressOf("10.0.0.0/8", "10.0.0.2", ["198.51.100.1", "10.0.0.5"])).toBe("198.51.100.1");
  });

  it("counts IPv6 per /64 by default: two addresses in one /64 are one caller, another /64 is another; IPv4 per address", () => {
    const clientOf = resolver("");
    const first = clientOf(request("2001:db8:1:2::1"));
    const sameNetwork = clientOf(request("2001:db8:1:2:ffff:ffff:ffff:ffff"));
    const nextNetwork = clientOf(request("2001:db8:1:3::1"));
    expect(first).toEqual({ address: "2001:db8:1:2::1", network: "2001:db8:1:2::/64" });
    expect(sameNetwork.network).toBe(first.network);
    expect(sameNetwork.address).not.toBe(first.address);
    expect(nextNetwork.network).toBe("2001:db8:1:3::/64");
    expect(clientOf(request("203.0.113.7"))).toEqual({ address: "203.0.113.7", network: "203.0.113.7" });
    expect(clientOf(request("203.0.113.8")).network).toBe("203.0.113.8");
  });

  it("groups IPv6 by CLIENT_IPV6_PREFIX_LENGTH, the forwarded client as well as the peer", () => {
    expect(resolver("", "48")(request("2001:db8:1:2::1")).network).toBe("2001:db8:1::/48");
    expect(resolver("", "128")(request("2001:db8:1:2::1")).network).toBe("2001:db8:1:2::1/128");
    expect(resolver("10.0.0.0/8", "56")(request("10.0.0.2", "2001:db8:1:2ff::1")).network).toBe("2001:db8:1:200::/56");
  });
});

describe("client address over a real socket", () => {
  /** Sends one raw HTTP/1.1 request with these header lines; answers the socket's peer and the client resolved. */
  async function resolvedOver(trusted: string, listenHost: string, connectHost: string, headerLines: string[]): Promise<ClientAddress & { peer: string }> {
    const clientOf = resolver(trusted);
    let resolved: (ClientAddress & { peer: string }) | undefined;
    const server = createServer((incoming, response) => {
      resolved = { ...clientOf(incoming), peer: incoming.socket.remoteAddress ?? "" };
      response.end();
    });
    await new Promise<void>((resolve) => server.listen(0, listenHost, resolve));
    try {
      const socket = connect((server.address() as AddressInfo).port, connectHost);
      socket.end(["GET / HTTP/1.1", "Host: onetime", "Connection: close", ...headerLines, "", ""].join("\r\n"));
      await new Promise((resolve) => socket.on("close", resolve).resume());
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
    return resolved!;
  }

  it("joins two X-Forwarded-For headers in the order they came", async () => {
    const resolved = await resolvedOver("127.0.0.1", "127.0.0.1", "127.0.0.1", ["X-Forwarded-For: 198.51.100.1", "X-Forwarded-For: 198.51.100.2"]);
    expect(resolved.address).toBe("198.51.100.2");
  });

  it("trusts 127.0.0.1 on a dual-stack socket, where the peer is ::ffff:127.0.0.1", async () => {
    const resolved = await resolvedOver("127.0.0.1", "::", "127.0.0.1", ["X-Forwarded-For: 198.51.100.1"]);
    expect(resolved.peer).toBe("::ffff:127.0.0.1");
    expect(resolved.address).toBe("198.51.100.1");
  });

  it("ignores the header of an untrusted peer on a real connection", async () => {
    const resolved = await resolvedOver("", "127.0.0.1", "127.0.0.1", ["X-Forwarded-For: 198.51.100.1"]);
    expect(resolved).toEqual({ peer: "127.0.0.1", address: "127.0.0.1", network: "127.0.0.1" });
  });
});
