import { Code, ConnectError, createClient, createRouterTransport } from "@connectrpc/connect";
import { SignJWT, type JWTPayload } from "jose";
import { describe, expect, it } from "vitest";
import { Health } from "../../gen/grpc/health/v1/health_pb.js";
import { accessTable, admins, backends, everyone } from "../../src/auth/access.js";
import { authInterceptor } from "../../src/auth/authInterceptor.js";
import { principalKey, type Principal } from "../../src/auth/principal.js";
import { createTokenVerifier, jwksKeySource, secretKey } from "../../src/auth/tokenVerifier.js";
import { DependencyUnavailable } from "../../src/errors/domainError.js";
import { errorBoundary } from "../../src/rpc/interceptors/errorBoundary.js";
import { signToken, testClaims, testJwtSecret } from "../support/tokens.js";

const claims = { ...testClaims, rolesClaim: "roles", serviceRole: "service", adminRole: "admin" };

/**
 * The real interceptor and verifier in front of an in-memory router; each Health RPC stands for
 * one access rule (Check: admins, List: backends, Watch: everyone), and the handler echoes who it
 * was called by.
 */
function clientWith(authorization?: string) {
  const table = accessTable({
    [`${Health.typeName}/Check`]: admins,
    [`${Health.typeName}/List`]: backends,
    [`${Health.typeName}/Watch`]: everyone,
  });
  let seen: Principal | undefined;
  const transport = createRouterTransport(
    (router) =>
      router.service(Health, {
        check: (_request, context) => {
          seen = context.values.get(principalKey);
          return {};
        },
        list: (_request, context) => {
          seen = context.values.get(principalKey);
          return {};
        },
        async *watch() {},
      }),
    {
      router: { interceptors: [errorBoundary, authInterceptor(createTokenVerifier(secretKey(testJwtSecret), claims), table)] },
    },
  );
  const headers = authorization === undefined ? undefined : { authorization };
  const client = createClient(Health, transport);
  return {
    check: () => client.check({}, { headers }),
    list: () => client.list({}, { headers }),
    seen: () => seen,
  };
}

async function failure(call: Promise<unknown>): Promise<ConnectError> {
  try {
    await call;
  } catch (error) {
    return ConnectError.from(error);
  }
  throw new Error("call succeeded but was expected to fail");
}

describe("auth interceptor", () => {
  it("admits the roles the table names and hands the principal to the handler", async () => {
    const admin = clientWith(`Bearer ${await signToken({ subject: "ops", roles: ["admin"] })}`);
    await admin.check();
    expect(admin.seen()).toEqual({ kind: "admin", subject: "ops" });

    const service = clientWith(`Bearer ${await signToken({ subject: "billing", roles: ["service"] })}`);
    await service.list();
    expect(service.seen()).toEqual({ kind: "service", subject: "billing" });
  });

  it("answers unauthenticated when no token is sent to a protected RPC", async () => {
    const error = await failure(clientWith().check());
    expect(error.code).toBe(Code.Unauthenticated);
    expect(error.rawMessage).toContain("requires a bearer token");
  });

  it("answers permission_denied for a valid token with the wrong role", async () => {
    const user = clientWith(`Bearer ${await signToken({ subject: "u1" })}`);
    expect((await failure(user.check())).code).toBe(Code.PermissionDenied);
    const service = clientWith(`Bearer ${await signToken({ roles: ["service"] })}`);
    expect((await failure(service.check())).code).toBe(Code.PermissionDenied);
  });

  it("refuses a token signed with another secret", async () => {
    const forged = await signToken({ roles: ["admin"], secret: "another-secret-that-is-32-characters-long!" });
    const error = await failure(clientWith(`Bearer ${forged}`).check());
    expect(error.code).toBe(Code.Unauthenticated);
    expect(error.rawMessage).toBe("bearer token is not valid");
  });

  it("says a required claim is missing rather than unacceptable", async () => {
    const withoutExp = await new SignJWT({ roles: ["admin"] })
      .setProtectedHeader({ alg: "HS256" })
      .setSubject("ops")
      .setIssuer(testClaims.issuer)
      .setAudience(testClaims.audience)
      .sign(new TextEncoder().encode(testJwtSecret));
    const refused = await failure(clientWith(`Bearer ${withoutExp}`).check());
    expect(refused.code).toBe(Code.Unauthenticated);
    expect(refused.rawMessage).toBe('bearer token claim "exp" is missing');
  });

  it("names the issuer and audience it expects when a token carries others (they are not secret)", async () => {
    const wrongIssuer = await failure(clientWith(`Bearer ${await signToken({ roles: ["admin"], issuer: "someone-else" })}`).check());
    expect(wrongIssuer.code).toBe(Code.Unauthenticated);
    expect(wrongIssuer.rawMessage).toBe(`bearer token claim "iss" is not acceptable: this server expects "${testClaims.issuer}" (AUTH_ISSUER)`);
    const wrongAudience = await failure(clientWith(`Bearer ${await signToken({ roles: ["admin"], audience: "staging" })}`).check());
    expect(wrongAudience.code).toBe(Code.Unauthenticated);
    expect(wrongAudience.rawMessage).toBe(`bearer token claim "aud" is not acceptable: this server expects "${testClaims.audience}" (AUTH_AUDIENCE)`);
  });

  it("refuses a sub that is not a non-empty string: a number, an array, an object, blanks", async () => {
    for (const sub of [42, ["user-1"], { id: "user-1" }, "  "]) {
      const token = await new SignJWT({ roles: ["admin"], sub } as unknown as JWTPayload)
        .setProtectedHeader({ alg: "HS256" })
        .setIssuer(testClaims.issuer)
        .setAudience(testClaims.audience)
        .setExpirationTime("1h")
        .sign(new TextEncoder().encode(testJwtSecret));
      const refused = await failure(clientWith(`Bearer ${token}`).check());
      expect(refused.code, JSON.stringify(sub)).toBe(Code.Unauthenticated);
      expect(refused.rawMessage).toBe('bearer token claim "sub" must be a non-empty string');
    }
  });

  it("refuses a token older than AUTH_MAX_TOKEN_AGE_SECONDS by its iat, and one without iat, though its exp is far off", async () => {
    const verifier = createTokenVerifier(secretKey(testJwtSecret), { ...claims, maxTokenAgeSeconds: 3600 });
    const issuedAt = Math.floor(Date.now() / 1000);
    const sign = (iat: number | undefined) => {
      const jwt = new SignJWT({ roles: ["admin"] }).setProtectedHeader({ alg: "HS256" }).setSubject("ops").setIssuer(testClaims.issuer).setAudience(testClaims.audience).setExpirationTime(issuedAt + 86_400);
      return (iat === undefined ? jwt : jwt.setIssuedAt(iat)).sign(new TextEncoder().encode(testJwtSecret));
    };
    await expect(verifier.verify(await sign(issuedAt - 60))).resolves.toMatchObject({ principal: { kind: "admin", subject: "ops" } });
    await expect(verifier.verify(await sign(issuedAt - 7200))).rejects.toMatchObject({ reason: "TOKEN_EXPIRED", message: expect.stringContaining("AUTH_MAX_TOKEN_AGE_SECONDS") });
    await expect(verifier.verify(await sign(undefined))).rejects.toMatchObject({ reason: "TOKEN_CLAIM_INVALID", message: 'bearer token claim "iat" is missing' });
  });

  it("refuses an expired token", async () => {
    const expired = await signToken({ roles: ["admin"], expiresAt: Math.floor(Date.now() / 1000) - 60 });
    const error = await failure(clientWith(`Bearer ${expired}`).check());
    expect(error.code).toBe(Code.Unauthenticated);
    expect(error.rawMessage).toBe("bearer token has expired");
  });

  it("refuses a wrong issuer or audience", async () => {
    for (const token of [await signToken({ roles: ["admin"], issuer: "evil" }), await signToken({ roles: ["admin"], audience: "other" })]) {
      const error = await failure(clientWith(`Bearer ${token}`).check());
      expect(error.code).toBe(Code.Unauthenticated);
      expect(error.rawMessage).toMatch(/claim "(iss|aud)"/);
    }
  });

  it("refuses an unsigned (alg: none) token", async () => {
    const [, payload] = (await signToken({ roles: ["admin"] })).split(".");
    const header = Buffer.from(JSON.stringify({ alg: "none" })).toString("base64url");
    const error = await failure(clientWith(`Bearer ${header}.${payload}.`).check());
    expect(error.code).toBe(Code.Unauthenticated);
  });

  it("refuses a malformed authorization header even on a public RPC", async () => {
    const error = await failure(clientWith("Basic dXNlcjpwYXNz").list());
    expect(error.code).toBe(Code.Unauthenticated);
    expect(error.rawMessage).toContain("Bearer");
  });

  it("says an empty bearer token is empty, as an unset shell variable sends it", async () => {
    const error = await failure(clientWith("Bearer ").list());
    expect(error.code).toBe(Code.Unauthenticated);
    expect(error.rawMessage).toContain("no token: is the variable holding it set?");
  });

  it("refuses an RPC missing from the access table", async () => {
    const transport = createRouterTransport((router) => router.service(Health, { check: () => ({}) }), {
      router: {
        interceptors: [errorBoundary, authInterceptor(createTokenVerifier(secretKey(testJwtSecret), claims), accessTable({}))],
      },
    });
    const error = await failure(createClient(Health, transport).check({}));
    expect(error.code).toBe(Code.PermissionDenied);
  });
});

describe("JWKS verification", () => {
  it("answers unavailable, not unauthenticated, when the key set cannot be fetched", async () => {
    const verifier = createTokenVerifier(jwksKeySource(new URL("http://127.0.0.1:1/jwks.json")), claims);
    const header = Buffer.from(JSON.stringify({ alg: "RS256", kid: "k1" })).toString("base64url");
    const payload = Buffer.from(JSON.stringify({ sub: "u" })).toString("base64url");
    await expect(verifier.verify(`${header}.${payload}.c2ln`)).rejects.toBeInstanceOf(DependencyUnavailable);
  });
});
