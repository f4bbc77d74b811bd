import { spawn } from "node:child_process";
import { createServer, type Server } from "node:http";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Code, createClient } from "@connectrpc/connect";
import { exportJWK, exportPKCS8, generateKeyPair, type JWK } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AccountTokenService } from "../../gen/onetime/v1/account_token_service_pb.js";
import { TokenService } from "../../gen/onetime/v1/token_service_pb.js";
import { developmentCredentials } from "../../src/auth/developmentCredentials.js";
import { createTokenVerifier, secretKey } from "../../src/auth/tokenVerifier.js";
import { runTokenCommand } from "../../src/cli/tokenCommand.js";
import { loadConfig } from "../../src/config/config.js";
import { startTestServer, type TestServer } from "../support/server.js";
import { testClaims, testJwtSecret } from "../support/tokens.js";
import { bearerTransport, failure } from "../support/verificationClient.js";

/**
 * `npx onetime token`: tokens minted from a deployment's settings are the ones its server
 * accepts, for each principal, and every way it cannot mint says so in one sentence, exit 2.
 */

const root = fileURLToPath(new URL("../../", import.meta.url));
const deployment = { NODE_ENV: "test", AUTH_JWT_SECRET: testJwtSecret, AUTH_ISSUER: testClaims.issuer, AUTH_AUDIENCE: testClaims.audience };

async function mint(args: string[], env: Record<string, string> = deployment): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const code = await runTokenCommand(args, env, { stdout: (text) => (stdout += text), stderr: (text) => (stderr += text) });
  return { code, stdout, stderr };
}

async function minted(args: string[], env: Record<string, string> = deployment): Promise<string> {
  const ran = await mint(args, env);
  expect(ran, ran.stderr).toMatchObject({ code: 0 });
  return ran.stdout.trim();
}

const tokens = (url: string, token: string) => createClient(TokenService, bearerTransport(url, "grpc", token));

describe("tokens minted from AUTH_JWT_SECRET, on a server with real stores", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer("real", "token-command");
  });
  afterAll(() => server?.stop());

  it("a service token names a user, that user's token reads its own profile, an admin token erases it", async () => {
    const userId = `minted-${Date.now()}`;
    const service = tokens(server.url, await minted(["--role", "service", "--sub", "billing"]));
    await service.createSecurityProfile({ userId, email: { value: `${userId}@example.com`, verified: true } });

    const user = tokens(server.url, await minted(["--role", "user", "--sub", userId]));
    expect((await user.getSecurityProfile({})).profile?.userId).toBe(userId);

    const admin = await minted(["--role", "admin"]);
    expect(await tokens(server.url, admin).eraseUser({ userId })).toMatchObject({ securityProfiles: 1 });
    const accounts = createClient(AccountTokenService, bearerTransport(server.url, "grpc", admin));
    expect((await accounts.listAccountTokens({ pageSize: 1 })).tokens).toBeDefined();
    // The roles are the server's: a user token is no admin's.
    expect(await failure(user.eraseUser({ userId }))).toMatchObject({ code: Code.PermissionDenied });
  });

  it("prints the token alone on stdout, and on stderr what it minted", async () => {
    const ran = await mint(["--role", "user", "--sub", "user-42", "--ttl", "15m"]);
    expect(ran.code).toBe(0);
    expect(ran.stdout).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+\n$/);
    expect(ran.stderr).toContain(`user "user-42", iss "${testClaims.issuer}", aud "${testClaims.audience}", expires `);
    const { principal, expiresAtMs } = await createTokenVerifier(secretKey(testJwtSecret), server.config.auth.claims).verify(ran.stdout.trim());
    expect(principal).toEqual({ kind: "user", subject: "user-42" });
    expect(expiresAtMs - Date.now()).toBeGreaterThan(14 * 60_000);
    expect(expiresAtMs - Date.now()).toBeLessThanOrEqual(15 * 60_000);
  });

  it("takes AUTH_ROLES_CLAIM and AUTH_ADMIN_ROLE as the server reads them", async () => {
    const env = { ...deployment, AUTH_ROLES_CLAIM: "https://acme.example/roles", AUTH_ADMIN_ROLE: "onetime-operator" };
    const claims = loadConfig({ ...env, DATA_DIR: "memory://" }).auth.claims;
    const { principal } = await createTokenVerifier(secretKey(testJwtSecret), claims).verify(await minted(["--role", "admin", "--sub", "ops"], env));
    expect(principal).toEqual({ kind: "admin", subject: "ops" });
  });
});

describe("tokens minted with a private key, for an AUTH_JWKS_URL deployment", () => {
  let keys: Server;
  let server: TestServer;
  let jwksUrl: string;
  let dir: string;
  beforeAll(async () => {
    const { publicKey, privateKey } = await generateKeyPair("ES256", { extractable: true });
    const published: JWK = { ...(await exportJWK(publicKey)), kid: "2026-12", alg: "ES256", use: "sig" };
    keys = createServer((_request, response) => response.setHeader("content-type", "application/json").end(JSON.stringify({ keys: [published] })));
    await new Promise<void>((resolve) => keys.listen(0, "127.0.0.1", resolve));
    jwksUrl = `http://127.0.0.1:${(keys.address() as AddressInfo).port}/jwks.json`;
    dir = await mkdtemp(join(tmpdir(), "onetime-token-"));
    await writeFile(join(dir, "signing-key.pem"), await exportPKCS8(privateKey));
    const other = await generateKeyPair("ES256", { extractable: true });
    await writeFile(join(dir, "other-key.json"), JSON.stringify({ ...(await exportJWK(other.privateKey)), kid: "2026-12" }));
    server = await startTestServer("embedded", "token-command-jwks", { AUTH_JWT_SECRET: "", AUTH_JWKS_URL: jwksUrl });
  });
  afterAll(async () => {
    await server?.stop();
    keys?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const jwksDeployment = () => ({ NODE_ENV: "test", AUTH_JWKS_URL: jwksUrl, AUTH_ISSUER: testClaims.issuer, AUTH_AUDIENCE: testClaims.audience });

  it("signs with --private-key-file and --kid, and the server takes the token", async () => {
    const admin = await minted(["--role", "admin", "--private-key-file", join(dir, "signing-key.pem"), "--kid", "2026-12"], jwksDeployment());
    expect(await tokens(server.url, admin).eraseUser({ userId: "nobody" })).toMatchObject({ securityProfiles: 0 });
  });

  it("refuses without a private key: the server holds only public ones", async () => {
    const ran = await mint(["--role", "service"], jwksDeployment());
    expect(ran).toEqual({ code: 2, stdout: "", stderr: expect.stringContaining(`AUTH_JWKS_URL is set, and the server holds only the public keys at ${jwksUrl}: pass --private-key-file`) });
  });

  it("refuses a key that is not in the set before printing anything", async () => {
    const ran = await mint(["--role", "service", "--private-key-file", join(dir, "other-key.json")], jwksDeployment());
    expect(ran).toEqual({ code: 2, stdout: "", stderr: expect.stringContaining("the server would refuse this token (bearer token is not valid)") });
  });

  it("refuses a file that holds no private key, and an algorithm the server does not take", async () => {
    await writeFile(join(dir, "public.json"), JSON.stringify({ kty: "oct", k: "c2VjcmV0" }));
    expect(await mint(["--role", "service", "--private-key-file", join(dir, "public.json")], jwksDeployment())).toMatchObject({
      code: 2,
      stderr: expect.stringContaining("holds no private key"),
    });
    expect(await mint(["--role", "service", "--private-key-file", join(dir, "signing-key.pem"), "--alg", "HS256"], jwksDeployment())).toMatchObject({
      code: 2,
      stderr: "onetime token: --alg must be one the server accepts from a JWKS: RS256, PS256, ES256, EdDSA (got HS256)\n",
    });
  });
});

describe("refusals: exit 2 and one sentence, nothing on stdout", () => {
  const refused = async (args: string[], env: Record<string, string>, sentence: string) => {
    const ran = await mint(args, env);
    expect(ran).toEqual({ code: 2, stdout: "", stderr: `onetime token: ${sentence}\n` });
  };

  it("no secret configured, on real stores", async () => {
    await refused(["--role", "service"], { NODE_ENV: "test", DATABASE_URL: "postgres://db.internal/onetime" }, "no AUTH_JWT_SECRET or AUTH_JWKS_URL is set: give this command the server's (a JWKS deployment also needs --private-key-file)");
  });

  it("no development secret yet on the embedded defaults, or one only in memory", async () => {
    const dir = await mkdtemp(join(tmpdir(), "onetime-token-"));
    try {
      const ran = await mint(["--role", "user", "--sub", "u1"], { NODE_ENV: "development", DATA_DIR: join(dir, "pgdata") });
      expect(ran).toMatchObject({ code: 2, stdout: "", stderr: expect.stringContaining(`there is no development secret at ${join(dir, "development-signing-secret")} yet`) });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    await refused(["--role", "user", "--sub", "u1"], { DATA_DIR: "memory://" }, "no AUTH_JWT_SECRET is set and DATA_DIR is in memory, so the development secret lives only inside the running server: use the tokens it printed");
  });

  it("an unknown role, no role, an unknown option", async () => {
    await refused(["--role", "superuser"], deployment, 'unknown role "superuser": use one of user, service, admin');
    await refused(["--sub", "u1"], deployment, "--role is required: one of user, service, admin");
    const ran = await mint(["--role", "user", "--sub", "u1", "--expires", "1h"], deployment);
    expect(ran).toMatchObject({ code: 2, stdout: "", stderr: expect.stringMatching(/^onetime token: Unknown option '--expires'.*npx onetime token --help/) });
  });

  it("a user token without --sub", async () => {
    await refused(["--role", "user"], deployment, "--sub is required for a user token: the user or account id the token acts as");
    await refused(["--role", "user", "--sub", " "], deployment, "--sub is required for a user token: the user or account id the token acts as");
  });

  it("NODE_ENV=production, unless --allow-production", async () => {
    const production = { ...deployment, NODE_ENV: "production" };
    await refused(["--role", "admin"], production, "NODE_ENV=production: a token minted here is a live credential; add --allow-production if that is what you mean");
    expect((await mint(["--role", "admin", "--allow-production"], production)).code).toBe(0);
  });

  it("a --ttl past AUTH_MAX_TOKEN_AGE_SECONDS, or not a duration; the default stays within it", async () => {
    const bounded = { ...deployment, AUTH_MAX_TOKEN_AGE_SECONDS: "600" };
    await refused(["--role", "admin", "--ttl", "1h"], bounded, "--ttl 1h is longer than AUTH_MAX_TOKEN_AGE_SECONDS (600), so the server would refuse the token before it expires");
    await refused(["--role", "admin", "--ttl", "soon"], deployment, '--ttl must be a positive number of seconds, or one with s, m, h or d (90s, 15m, 2h, 7d); got "soon"');
    const { expiresAtMs } = await createTokenVerifier(secretKey(testJwtSecret), { ...testClaims, rolesClaim: "roles", serviceRole: "service", adminRole: "admin", maxTokenAgeSeconds: 600 }).verify(
      await minted(["--role", "admin"], bounded),
    );
    expect(expiresAtMs - Date.now()).toBeLessThanOrEqual(600_000);
  });

  it("a setting the server would refuse, never echoing the secret", async () => {
    await refused(["--role", "admin"], { AUTH_JWT_SECRET: "short-secret" }, "invalid configuration: AUTH_JWT_SECRET: must be at least 32 characters (HS256 needs a 256-bit secret)");
    await refused(["--role", "admin"], { ...deployment, AUTH_JWKS_URL: "https://id.example/jwks.json" }, "invalid configuration: AUTH_JWT_SECRET and AUTH_JWKS_URL: set one, not both");
  });

  it("a private key where the server checks a shared secret", async () => {
    await refused(["--role", "admin", "--private-key-file", "key.pem"], deployment, "AUTH_JWT_SECRET is set, so the server checks HS256 tokens signed with it: --private-key-file is for AUTH_JWKS_URL deployments");
  });
});

describe("on the embedded defaults, with the development secret npm start keeps", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "onetime-token-"));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it("npx onetime token signs a user token the development server accepts, for 30 days", async () => {
    const env = { NODE_ENV: "development", DATA_DIR: join(dir, "pgdata") };
    const claims = loadConfig(env).auth.claims;
    const { secret } = await developmentCredentials(claims, env.DATA_DIR);
    // Through the bin as a reader runs it: npm resolves `npx onetime` to this package's own bin.
    const ran = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn("npx", ["--offline", "onetime", "token", "--role", "user", "--sub", "user-42"], { cwd: root, env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env } });
      let stdout = "";
      let stderr = "";
      child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
      child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
      child.once("close", (code) => resolve({ code, stdout, stderr }));
    });
    expect(ran.code, ran.stderr).toBe(0);
    expect(ran.stdout).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+\n$/);
    const { principal, expiresAtMs } = await createTokenVerifier(secretKey(secret), claims, { development: true }).verify(ran.stdout.trim());
    expect(principal).toEqual({ kind: "user", subject: "user-42" });
    expect(expiresAtMs - Date.now()).toBeGreaterThan(29 * 86_400_000);
  }, 30_000);
});

describe("docs/security.md's backend snippet", () => {
  it("mints a service token the server accepts", async () => {
    const page = await readFile(join(root, "docs", "security.md"), "utf8");
    const snippet = [...page.matchAll(/```ts\n([\s\S]*?)```/g)].map(([, source]) => source!).find((source) => source.includes("SignJWT"));
    expect(snippet).toBeDefined();
    const server = await startTestServer("embedded", "token-snippet");
    // Beside this test, so its `jose` import resolves as a backend's would.
    const file = join(root, "test", "cli", `.snippet-${process.pid}-${Date.now()}.ts`);
    const saved = { ...process.env };
    try {
      await writeFile(file, snippet!);
      Object.assign(process.env, deployment);
      const { serviceToken } = (await import(file)) as { serviceToken: () => Promise<string> };
      const service = tokens(server.url, await serviceToken());
      await service.createSecurityProfile({ userId: "snippet-user", email: { value: "snippet@example.com", verified: true } });
      expect((await service.getSecurityProfile({ userId: "snippet-user" })).profile?.userId).toBe("snippet-user");
    } finally {
      process.env = saved;
      await rm(file, { force: true });
      await server.stop();
    }
  });
});
