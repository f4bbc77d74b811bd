import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { createSecretBox, parseEncryptionKeys, SecretBoxError } from "../../src/crypto/secretBox.js";

const key = (id: string) => ({ id, key: randomBytes(32) });

describe("secret box", () => {
  it("round-trips, never showing the plaintext, with a fresh IV each time", () => {
    const box = createSecretBox([key("k1")]);
    const first = box.seal("JBSWY3DPEHPK3PXP", "totp:user-1");
    const second = box.seal("JBSWY3DPEHPK3PXP", "totp:user-1");
    expect(first).not.toContain("JBSWY3DPEHPK3PXP");
    expect(first).not.toBe(second);
    expect(box.open(first, "totp:user-1")).toBe("JBSWY3DPEHPK3PXP");
  });

  it("refuses another context, a tampered value and an unknown key", () => {
    const box = createSecretBox([key("k1")]);
    const sealed = box.seal("secret", "outbox:a");
    expect(() => box.open(sealed, "outbox:b")).toThrow(SecretBoxError);
    const parts = sealed.split(".");
    const body = Buffer.from(parts[3]!, "base64url");
    body[0] = body[0]! ^ 1;
    expect(() => box.open([...parts.slice(0, 3), body.toString("base64url")].join("."), "outbox:a")).toThrow(/authenticate/);
    expect(() => createSecretBox([key("k2")]).open(sealed, "outbox:a")).toThrow(/unknown key "k1"/);
    expect(() => box.open("plaintext", "outbox:a")).toThrow(/not a sealed value/);
  });

  it("rotates: the first key seals, older keys still open", () => {
    const old = key("2025");
    const sealedBefore = createSecretBox([old]).seal("secret", "c");
    const rotated = createSecretBox([key("2026"), old]);
    expect(rotated.activeKeyId).toBe("2026");
    expect(rotated.open(sealedBefore, "c")).toBe("secret");
    expect(rotated.seal("secret", "c")).toMatch(/^v1\.2026\./);
  });

  it("parses ENCRYPTION_KEYS and refuses bad keys", () => {
    const material = randomBytes(32).toString("base64");
    expect(parseEncryptionKeys(`a:${material}, b:${material}`).map((entry) => entry.id)).toEqual(["a", "b"]);
    expect(() => createSecretBox(parseEncryptionKeys(`a:${randomBytes(16).toString("base64")}`))).toThrow(/32 bytes/);
    expect(() => parseEncryptionKeys("no-separator")).toThrow(/id:base64/);
    expect(() => createSecretBox([key("a"), key("a")])).toThrow(/unique/);
    expect(() => createSecretBox([])).toThrow(/at least one/);
  });
});
