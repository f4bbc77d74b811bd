import { createContextKey } from "@connectrpc/connect";

/**
 * Who is calling. `subject` is the JWT `sub`: a user or account id for users, the calling
 * system's name for services and admins.
 */
export type Principal =
  | { readonly kind: "public" }
  | { readonly kind: "user"; readonly subject: string }
  | { readonly kind: "service"; readonly subject: string }
  | { readonly kind: "admin"; readonly subject: string };

export type PrincipalKind = Principal["kind"];

export const publicPrincipal: Principal = { kind: "public" };

/** Set by the auth interceptor on every call before any handler runs. */
export const principalKey = createContextKey<Principal>(publicPrincipal, { description: "principal" });
