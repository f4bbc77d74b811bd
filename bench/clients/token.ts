import { randomBytes } from "node:crypto";
import { SignJWT } from "jose";

/** What the bench's server is configured with and the bench's callers sign with. */
export interface BenchAuth {
  readonly secret: string;
  readonly issuer: string;
  readonly audience: string;
}

export function newBenchAuth(): BenchAuth {
  return { secret: randomBytes(32).toString("base64url"), issuer: "onetime-bench", audience: "onetime-bench" };
}

/** A service principal's bearer JWT (HS256), as a caller's identity provider would sign it. */
export function signServiceToken(auth: BenchAuth, lifetimeSeconds = 4 * 3600): Promise<string> {
  return signToken(auth, "bench", ["service"], lifetimeSeconds);
}

/** A user principal's bearer JWT: no role, `sub` the account id, as a signed-in account sends. */
export function signUserToken(auth: BenchAuth, lifetimeSeconds = 4 * 3600): Promise<string> {
  return signToken(auth, "bench-account", [], lifetimeSeconds);
}

function signToken(auth: BenchAuth, subject: string, roles: readonly string[], lifetimeSeconds: number): Promise<string> {
  return new SignJWT({ roles: [...roles] })
    .setProtectedHeader({ alg: "HS256" })
    .setSubject(subject)
    .setIssuer(auth.issuer)
    .setAudience(auth.audience)
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + lifetimeSeconds)
    .sign(new TextEncoder().encode(auth.secret));
}
