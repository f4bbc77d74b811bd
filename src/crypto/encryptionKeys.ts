import { randomBytes } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { parseEncryptionKeys, type EncryptionKey } from "./secretBox.js";

/**
 * The keys secrets are sealed with: ENCRYPTION_KEYS when given. On the embedded defaults a key is
 * generated once and kept beside the PGlite data (mode 0600), so queued messages and TOTP secrets
 * still open after a restart; with in-memory data it lives as long as the process.
 */
export async function loadEncryptionKeys(configured: string | undefined, dataDir: string | undefined): Promise<EncryptionKey[]> {
  if (configured !== undefined) return parseEncryptionKeys(configured);
  if (dataDir === undefined || dataDir.startsWith("memory://")) return [{ id: "dev", key: randomBytes(32) }];
  const file = developmentKeyFile(dataDir);
  try {
    return parseEncryptionKeys((await readFile(file, "utf8")).trim());
  } catch (error) {
    if ((error as { code?: unknown }).code !== "ENOENT") throw error;
  }
  const line = `dev:${randomBytes(32).toString("base64")}`;
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, `${line}\n`, { mode: 0o600, flag: "wx" });
  return parseEncryptionKeys(line);
}

/** Where the generated development key is kept for PGlite data in `dataDir`. */
export function developmentKeyFile(dataDir: string): string {
  return join(dirname(dataDir), "development-encryption-key");
}
