import type { Actor } from "../actor.js";

/**
 * What makes two requests "the same" for an idempotency key: the whole request (the key itself
 * left out by the caller) and who asked, so one caller's key can never replay another's answer.
 * Object keys are sorted, so a retry that serialises the same JSON in another order still matches.
 * The result is plain text holding the request: OneTimeSecrets keeps only a keyed hash of it.
 */
export function requestFingerprint(request: unknown, actor: Actor): string {
  const who = actor.kind === "public" ? "public" : `${actor.kind}:${actor.subject ?? ""}`;
  return `${who}\0${canonicalJson(request)}`;
}

function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, inner: unknown) => {
    if (inner === null || typeof inner !== "object" || Array.isArray(inner)) return inner;
    const entries = Object.entries(inner as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return Object.fromEntries(entries);
  });
}
