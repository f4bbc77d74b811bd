import type { IncomingMessage } from "node:http";
import { describe, expect, it } from "vitest";
import { clientAddressOf } from "../../src/rpc/clientAddress.js";

function request(peer: string, forwardedFor?: string): IncomingMessage {
  return { socket: { remoteAddress: peer }, headers: forwardedFor === undefined ? {} : { "x-forwarded-for": forwardedFor } } as unknown as IncomingMessage;
}

describe("client address", () => {
  it("is the wrapped socket's peer on a sniffed h2c connection (a JSStreamSocket has no address of its own)", () => {
    const h2c = { socket: { remoteAddress: undefined, stream: { remoteAddress: "203.0.113.8" } }, headers: {} } as unknown as IncomingMessage;
    expect(clientAddressOf(h2c, 0)).toBe("203.0.113.8");
  });

  it("is the socket peer when no proxy is trusted, whatever the header says", () => {
    expect(clientAddressOf(request("203.0.113.7", "198.51.100.1"), 0)).toBe("203.0.113.7");
  });

  it("is the entry the trusted proxies appended, not what the client wrote", () => {
    // client forged "1.1.1.1"; the one trusted proxy appended the real peer 198.51.100.9
    expect(clientAddressOf(request("10.0.0.2", "1.1.1.1, 198.51.100.9"), 1)).toBe("198.51.100.9");
    expect(clientAddressOf(request("10.0.0.2", "1.1.1.1, 198.51.100.9, 10.0.0.5"), 2)).toBe("198.51.100.9");
  });

  it("falls back to the peer without a header", () => {
    expect(clientAddressOf(request("10.0.0.2"), 1)).toBe("10.0.0.2");
  });
});
