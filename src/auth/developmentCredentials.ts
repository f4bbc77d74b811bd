import { randomBytes } from "node:crypto";
import { SignJWT } from "jose";
import type { ClaimsConfig } from "../config/config.js";
import { secretKey } from "./tokenVerifier.js";

export interface DevelopmentCredentials {
  readonly secret: string;
  readonly serviceToken: string;
  readonly adminToken: string;
}

const lifetime = "12h";

/**
 * A signing secret made at start, and a service and an admin token signed with it, so a new user
 * can call the API with `buf curl` at once. Config refuses this mode in production and whenever a
 * real database is configured; the secret lives only in this process.
 */
export async function developmentCredentials(claims: ClaimsConfig): Promise<DevelopmentCredentials> {
  const secret = randomBytes(32).toString("base64url");
  const sign = (subject: string, role: string) =>
    new SignJWT({ [claims.rolesClaim]: [role] })
      .setProtectedHeader({ alg: "HS256" })
      .setSubject(subject)
      .setIssuer(claims.issuer)
      .setAudience(claims.audience)
      .setIssuedAt()
      .setExpirationTime(lifetime)
      .sign(secretKey(secret));
  return {
    secret,
    serviceToken: await sign("development-service", claims.serviceRole),
    adminToken: await sign("development-admin", claims.adminRole),
  };
}
