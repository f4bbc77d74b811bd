import type { Interceptor } from "@connectrpc/connect";
import { PermissionDenied, Unauthenticated } from "../errors/domainError.js";
import { procedureName, type AccessTable } from "./access.js";
import { principalKey, publicPrincipal, type Principal } from "./principal.js";
import type { TokenVerifier } from "./tokenVerifier.js";

/**
 * Authenticates the caller from its bearer token and enforces the access table, before any
 * handler or validation runs. A token that is present but bad is refused even on public RPCs: a
 * caller who meant to authenticate should learn its credentials are wrong.
 */
export function authInterceptor(verifier: TokenVerifier, table: AccessTable): Interceptor {
  return (next) => async (request) => {
    const procedure = procedureName(request.service, request.method.name);
    const allowed = table.get(procedure);
    if (allowed === undefined) throw new PermissionDenied("NOT_IN_ACCESS_TABLE", `${procedure} is not callable`);

    const principal = await authenticate(verifier, request.header.get("authorization"));
    if (!allowed.has(principal.kind)) {
      if (principal.kind === "public") {
        throw new Unauthenticated("TOKEN_MISSING", `${procedure} requires a bearer token`);
      }
      throw new PermissionDenied("ROLE_NOT_ALLOWED", `${procedure} may not be called by a ${principal.kind} principal`);
    }
    request.contextValues.set(principalKey, principal);
    return next(request);
  };
}

async function authenticate(verifier: TokenVerifier, authorization: string | null): Promise<Principal> {
  if (authorization === null) return publicPrincipal;
  const match = /^Bearer ([A-Za-z0-9._~+/-]+=*)$/i.exec(authorization.trim());
  if (match?.[1] === undefined) {
    // `-H "authorization: Bearer $SERVICE_TOKEN"` with the variable unset sends just this.
    const empty = /^Bearer\s*$/i.test(authorization.trim());
    throw new Unauthenticated(
      "TOKEN_MALFORMED",
      empty
        ? 'authorization header is "Bearer" with no token: is the variable holding it set? (in development, paste the export lines `npm start` printed)'
        : 'authorization header must be "Bearer <token>"',
    );
  }
  return (await verifier.verify(match[1])).principal;
}
