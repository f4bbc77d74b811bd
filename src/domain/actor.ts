/**
 * The kinds of caller the rules tell apart: anyone (public), a signed-in user, a backend service,
 * an operator (admin). Authentication (auth/principal.ts) decides which one a call is.
 */
export type ActorKind = "public" | "user" | "service" | "admin";

/**
 * Who asked for a change, as the domain records it: the caller's kind and id, and the request id
 * that ties the audit row to the call's log lines.
 */
export interface Actor {
  readonly kind: ActorKind;
  /** The caller's JWT `sub`; absent for public callers. */
  readonly subject?: string;
  /** The call's `x-request-id`. */
  readonly requestId?: string;
  /** The caller's network address (see rpc/clientAddress.ts): what is audited and shown to a CAPTCHA provider. */
  readonly clientAddress?: string;
  /**
   * The addresses counted as one caller with `clientAddress`: public callers have no other name.
   * The address itself for IPv4; for IPv6 the network one customer holds (`2001:db8:1:2::/64`).
   */
  readonly clientNetwork?: string;
}
