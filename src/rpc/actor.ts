import type { HandlerContext } from "@connectrpc/connect";
import { principalKey } from "../auth/principal.js";
import type { Actor } from "../domain/actor.js";
import { clientAddressKey } from "./clientAddress.js";
import { requestIdKey } from "./interceptors/requestLog.js";

/** The caller of an RPC as the domain audits it. */
export function actorOf(context: HandlerContext): Actor {
  const principal = context.values.get(principalKey);
  const requestId = context.values.get(requestIdKey);
  const client = context.values.get(clientAddressKey);
  return {
    kind: principal.kind,
    ...(principal.kind === "public" ? {} : { subject: principal.subject }),
    ...(requestId === undefined ? {} : { requestId }),
    // Canonical, so at most 39 characters: the audit column holds 64.
    clientAddress: client.address,
    clientNetwork: client.network,
  };
}
