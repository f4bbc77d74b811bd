import { createContextKey } from "@connectrpc/connect";
import type { ActorKind } from "../domain/actor.js";

/**
 * Who is calling. `subject` is the JWT `sub`: a user or account id for users, the calling
 * system's name for services and admins.
 */
export type Principal =
  | { readonly kind: "public" }
  | { readonly kind: "user"; readonly subject: string }
  | { readonly kind: "service"; readonly subject: string }
  | { readonly kind: "admin"; readonly subject: string };

/** A principal's kind is the domain's kind of actor (domain/actor.ts): rpc/actor.ts hands it on as it is. */
export type PrincipalKind = ActorKind;

export const publicPrincipal: Principal = { kind: "public" };

/** Set by the auth interceptor on every call before any handler runs. */
export const principalKey = createContextKey<Principal>(publicPrincipal, { description: "principal" });
