import type { HandlerContext } from "@connectrpc/connect";
import { principalKey } from "../auth/principal.js";
import type { Actor } from "../domain/actor.js";
import { clientAddressKey } from "./clientAddress.js";
import { requestIdKey } from "./interceptors/requestLog.js";

/** The caller of an RPC as the domain audits it. */
export function actorOf(context: HandlerContext): Actor {
  const principal = context.values.get(principalKey);
  const requestId = context.values.get(requestIdKey);
  return {
    kind: principal.kind,
    ...(principal.kind === "public" ? {} : { subject: principal.subject }),
    ...(requestId === undefined ? {} : { requestId }),
    // The audit column holds 64 characters; an address is at most 45 (IPv6 with IPv4 tail).
    clientAddress: context.values.get(clientAddressKey).slice(0, 64),
  };
}
