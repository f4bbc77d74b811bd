import type { HandlerContext } from "@connectrpc/connect";
import { principalKey } from "../auth/principal.js";
import type { Actor } from "../domain/actor.js";

/** The caller of an RPC as the domain audits it. */
export function actorOf(context: HandlerContext): Actor {
  const principal = context.values.get(principalKey);
  return principal.kind === "public" ? { kind: principal.kind } : { kind: principal.kind, subject: principal.subject };
}
