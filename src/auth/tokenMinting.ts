import type { KeyObject } from "node:crypto";
import { SignJWT } from "jose";
import type { ClaimsConfig } from "../config/config.js";

/** The principal a token speaks for, as the server reads it from the roles claim. */
export type MintedRole = "user" | "service" | "admin";

export const mintedRoles: readonly MintedRole[] = ["user", "service", "admin"];

/** A key that signs bearer tokens: the HS256 secret, or a private key of the JWKS the server reads. */
export interface SigningKey {
  readonly key: KeyObject;
  readonly algorithm: string;
  /** Names the key in the JWKS, for a set that holds several. */
  readonly keyId?: string;
}

/**
 * A bearer token the server takes for `role`: its issuer and audience, `sub`, `iat` (which
 * AUTH_MAX_TOKEN_AGE_SECONDS requires) and `exp`, and the roles claim for a service or an admin
 * (a user carries none, as an identity provider's user tokens do not).
 */
export function mintToken(claims: ClaimsConfig, signing: SigningKey, role: MintedRole, subject: string, lifetimeSeconds: number): Promise<string> {
  const roles = role === "service" ? { [claims.rolesClaim]: [claims.serviceRole] } : role === "admin" ? { [claims.rolesClaim]: [claims.adminRole] } : {};
  const issuedAt = Math.floor(Date.now() / 1000);
  return new SignJWT(roles)
    .setProtectedHeader({ alg: signing.algorithm, typ: "JWT", ...(signing.keyId === undefined ? {} : { kid: signing.keyId }) })
    .setSubject(subject)
    .setIssuer(claims.issuer)
    .setAudience(claims.audience)
    .setIssuedAt(issuedAt)
    .setExpirationTime(issuedAt + lifetimeSeconds)
    .sign(signing.key);
}
