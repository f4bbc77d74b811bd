import { isIP, SocketAddress } from "node:net";

/** One IPv4 or IPv6 subnet; a single address is a /32 or a /128. */
export interface Subnet {
  /** Canonical text of the address (see {@link canonicalAddress}). */
  readonly address: string;
  readonly prefix: number;
  readonly family: "ipv4" | "ipv6";
}

/**
 * One text per address, so that one caller is one string wherever it is written down: IPv4 as
 * given (`net.isIP` accepts only the dotted form), IPv6 lowercase and compressed, and an
 * IPv4-mapped IPv6 address (`::ffff:192.0.2.7`, what a dual-stack socket reports for an IPv4
 * peer) as the IPv4 address it maps. Undefined for anything that is not an address.
 */
export function canonicalAddress(text: string): string | undefined {
  const family = isIP(text);
  if (family === 4) return text;
  if (family !== 6) return undefined;
  // A zone (fe80::1%eth0) names one of our interfaces, not the caller.
  const canonical = new SocketAddress({ address: text.replace(/%.*$/, ""), family: "ipv6" }).address;
  return /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(canonical)?.[1] ?? canonical;
}

export function familyOf(address: string): "ipv4" | "ipv6" {
  return isIP(address) === 4 ? "ipv4" : "ipv6";
}

/**
 * The subnet `text` names (`10.0.0.0/8`, `2001:db8::/32`, or one address), or why it names none.
 * An IPv4-mapped subnet (`::ffff:10.0.0.0/104`) is the IPv4 subnet it maps (`10.0.0.0/8`).
 */
export function parseSubnet(text: string): Subnet | string {
  const slash = text.indexOf("/");
  const written = slash === -1 ? text : text.slice(0, slash);
  const address = canonicalAddress(written);
  if (address === undefined) return `"${text}" is not an IPv4 or IPv6 address or subnet (e.g. 10.0.0.0/8, 2001:db8::/32, 192.0.2.7)`;
  const writtenBits = isIP(written) === 4 ? 32 : 128;
  const prefixText = slash === -1 ? String(writtenBits) : text.slice(slash + 1);
  if (!/^\d{1,3}$/.test(prefixText) || Number(prefixText) > writtenBits) {
    return `"${text}": the prefix must be a whole number from 0 to ${writtenBits}`;
  }
  const family = familyOf(address);
  // Written as IPv6 but canonical as IPv4: an IPv4-mapped subnet, whose first 96 bits are fixed.
  const prefix = Number(prefixText) - (writtenBits === 128 && family === "ipv4" ? 96 : 0);
  if (prefix < 0) return `"${text}": an IPv4-mapped subnet needs a prefix of 96 or more`;
  return { address, prefix, family };
}

/**
 * The network of `prefixLength` bits an IPv6 address belongs to, as `2001:db8:1:2::/64`; an IPv4
 * address is returned as it is (one IPv4 address is what one customer holds).
 */
export function networkOf(address: string, ipv6PrefixLength: number): string {
  if (familyOf(address) === "ipv4") return address;
  const masked = ipv6Groups(address).map((group, index) => {
    const kept = Math.min(16, Math.max(0, ipv6PrefixLength - index * 16));
    return group & ((0xffff << (16 - kept)) & 0xffff);
  });
  const network = new SocketAddress({ address: masked.map((group) => group.toString(16)).join(":"), family: "ipv6" }).address;
  return `${network}/${ipv6PrefixLength}`;
}

/** The eight 16-bit groups of an IPv6 address. */
function ipv6Groups(address: string): number[] {
  // The WHATWG URL parser writes an IPv4 tail (::1.2.3.4) in hex, so only hex groups and "::" remain.
  const hex = new URL(`http://[${address}]/`).hostname.slice(1, -1);
  const [head = "", tail] = hex.split("::");
  const left = head === "" ? [] : head.split(":");
  const right = tail === undefined || tail === "" ? [] : tail.split(":");
  const zeros = tail === undefined ? [] : Array<string>(8 - left.length - right.length).fill("0");
  return [...left, ...zeros, ...right].map((group) => Number.parseInt(group, 16));
}
