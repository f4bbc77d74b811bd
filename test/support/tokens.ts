import { SignJWT } from "jose";

export const testJwtSecret = "test-secret-that-is-at-least-32-characters-long";
/** ENCRYPTION_KEYS for servers under test: a fixed key id with 32 bytes of key. */
export const testEncryptionKeys = `test:${Buffer.alloc(32, 7).toString("base64")}`;
export const testClaims = { issuer: "onetime-test", audience: "onetime-test" };

export interface TokenOptions {
  subject?: string;
  roles?: string[];
  issuer?: string;
  audience?: string;
  /** Seconds since the epoch; default one hour from now. */
  expiresAt?: number;
  secret?: string;
}

/** Signs a bearer JWT the way a caller's identity provider would. */
export function signToken(options: TokenOptions = {}): Promise<string> {
  return new SignJWT({ roles: options.roles ?? [] })
    .setProtectedHeader({ alg: "HS256" })
    .setSubject(options.subject ?? "user-1")
    .setIssuer(options.issuer ?? testClaims.issuer)
    .setAudience(options.audience ?? testClaims.audience)
    .setIssuedAt()
    .setExpirationTime(options.expiresAt ?? Math.floor(Date.now() / 1000) + 3600)
    .sign(new TextEncoder().encode(options.secret ?? testJwtSecret));
}
