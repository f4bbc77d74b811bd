import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";

/** One AES-256 key and the id stored beside everything it encrypted, so keys can rotate. */
export interface EncryptionKey {
  readonly id: string;
  /** 32 bytes. */
  readonly key: Uint8Array;
}

/**
 * Encrypts secrets at rest (queued messages, TOTP secrets) with AES-256-GCM. The first key
 * encrypts; every key decrypts, so a new key can be put first and the old one kept until what
 * it encrypted has expired or been re-encrypted.
 *
 * A sealed value is `v1.<keyId>.<iv>.<ciphertext+tag>` (base64url). `context` is bound as
 * additional authenticated data: a value sealed for one row or purpose does not open for another.
 */
export interface SecretBox {
  seal(plaintext: string, context: string): string;
  open(sealed: string, context: string): string;
  /** The id of the key new values are sealed with. */
  readonly activeKeyId: string;
}

const version = "v1";
const ivBytes = 12;
const tagBytes = 16;

export class SecretBoxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SecretBoxError";
  }
}

export function createSecretBox(keys: readonly EncryptionKey[]): SecretBox {
  const [active] = keys;
  if (active === undefined) throw new SecretBoxError("at least one encryption key is required");
  const byId = new Map(keys.map((entry) => [entry.id, entry.key]));
  for (const entry of keys) {
    if (entry.key.length !== 32) throw new SecretBoxError(`encryption key "${entry.id}" must be 32 bytes`);
    if (!/^[A-Za-z0-9_-]{1,32}$/.test(entry.id)) throw new SecretBoxError(`encryption key id "${entry.id}" must be 1-32 of [A-Za-z0-9_-]`);
  }
  if (byId.size !== keys.length) throw new SecretBoxError("encryption key ids must be unique");

  return {
    activeKeyId: active.id,
    seal(plaintext, context) {
      const iv = randomBytes(ivBytes);
      const cipher = createCipheriv("aes-256-gcm", active.key, iv, { authTagLength: tagBytes });
      cipher.setAAD(Buffer.from(context, "utf8"));
      const body = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final(), cipher.getAuthTag()]);
      return [version, active.id, iv.toString("base64url"), body.toString("base64url")].join(".");
    },
    open(sealed, context) {
      const [prefix, keyId, ivText, bodyText, extra] = sealed.split(".");
      if (prefix !== version || keyId === undefined || ivText === undefined || bodyText === undefined || extra !== undefined) {
        throw new SecretBoxError("not a sealed value");
      }
      const key = byId.get(keyId);
      if (key === undefined) throw new SecretBoxError(`sealed with unknown key "${keyId}"`);
      const body = Buffer.from(bodyText, "base64url");
      if (body.length < tagBytes) throw new SecretBoxError("sealed value is truncated");
      const decipher = createDecipheriv("aes-256-gcm", key, Buffer.from(ivText, "base64url"), { authTagLength: tagBytes });
      decipher.setAAD(Buffer.from(context, "utf8"));
      decipher.setAuthTag(body.subarray(body.length - tagBytes));
      try {
        return Buffer.concat([decipher.update(body.subarray(0, body.length - tagBytes)), decipher.final()]).toString("utf8");
      } catch {
        throw new SecretBoxError("sealed value does not authenticate (wrong key, context or tampered)");
      }
    },
  };
}

/** Parses `id:base64key[,id:base64key…]`, the form ENCRYPTION_KEYS takes. */
export function parseEncryptionKeys(raw: string): EncryptionKey[] {
  return raw
    .split(",")
    .map((item) => item.trim())
    .filter((item) => item.length > 0)
    .map((item) => {
      const separator = item.indexOf(":");
      if (separator <= 0) throw new SecretBoxError('each key must be "id:base64-of-32-bytes"');
      const key = Buffer.from(item.slice(separator + 1), "base64");
      return { id: item.slice(0, separator), key: new Uint8Array(key) };
    });
}
