import { randomBytes } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { ClaimsConfig } from "../config/config.js";
import { mintToken, type MintedRole } from "./tokenMinting.js";
import { secretKey } from "./tokenVerifier.js";

export interface DevelopmentCredentials {
  readonly secret: string;
  /** Whether the secret is kept on disk, so these tokens work after a restart too. */
  readonly persistent: boolean;
  readonly serviceToken: string;
  readonly adminToken: string;
}

// Long enough that a token pasted into a shell outlives a working week; this mode is refused in
// production and next to real stores.
export const developmentTokenLifetimeSeconds = 30 * 86_400;

/**
 * A signing secret, and a service and an admin token signed with it, so a new user can call the
 * API with `buf curl` at once. On the embedded defaults the secret is kept beside the PGlite data
 * (mode 0600, as the development encryption key), so tokens printed by an earlier start keep
 * working after a restart; with in-memory data it lives as long as the process. Config refuses
 * this mode in production and whenever a real database is configured.
 */
export async function developmentCredentials(claims: ClaimsConfig, dataDir?: string): Promise<DevelopmentCredentials> {
  const secret = await developmentSecret(dataDir);
  const sign = (role: MintedRole) => mintToken(claims, { key: secretKey(secret), algorithm: "HS256" }, role, `development-${role}`, developmentTokenLifetimeSeconds);
  return {
    secret,
    persistent: dataDir !== undefined && !dataDir.startsWith("memory://"),
    serviceToken: await sign("service"),
    adminToken: await sign("admin"),
  };
}

async function developmentSecret(dataDir: string | undefined): Promise<string> {
  if (dataDir === undefined || dataDir.startsWith("memory://")) return randomBytes(32).toString("base64url");
  const file = developmentSecretFile(dataDir);
  try {
    return (await readFile(file, "utf8")).trim();
  } catch (error) {
    if ((error as { code?: unknown }).code !== "ENOENT") throw error;
  }
  const secret = randomBytes(32).toString("base64url");
  await mkdir(dirname(file), { recursive: true });
  try {
    await writeFile(file, `${secret}\n`, { mode: 0o600, flag: "wx" });
    return secret;
  } catch (error) {
    // Another start wrote it first: its secret is the one to keep.
    if ((error as { code?: unknown }).code !== "EEXIST") throw error;
    return (await readFile(file, "utf8")).trim();
  }
}

/** Where the generated development signing secret is kept for PGlite data in `dataDir`. */
export function developmentSecretFile(dataDir: string): string {
  return join(dirname(dataDir), "development-signing-secret");
}
