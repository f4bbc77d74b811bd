/**
 * Each kind of entry lives under its own namespace, so one caller key can name a secret, a value
 * and a window at once without one overwriting (or, in Redis, WRONGTYPE-failing) another.
 */
export type TtlNamespace = "secret" | "value" | "counter" | "fixed" | "sliding";

export function namespacedKey(namespace: TtlNamespace, key: string): string {
  return `${namespace}:${key}`;
}
