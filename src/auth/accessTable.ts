import type { DescService } from "@bufbuild/protobuf";
import type { PrincipalKind } from "./principal.js";

/**
 * Which principals may call each RPC, keyed `package.Service/Method`. This table is the whole
 * access policy: an RPC that is not listed cannot be served (see {@link assertCovers}).
 */
export type AccessTable = ReadonlyMap<string, ReadonlySet<PrincipalKind>>;

export function procedureName(service: DescService, methodName: string): string {
  return `${service.typeName}/${methodName}`;
}

export function accessTable(entries: Record<string, readonly PrincipalKind[]>): AccessTable {
  return new Map(Object.entries(entries).map(([procedure, kinds]) => [procedure, new Set(kinds)]));
}

export const everyone: readonly PrincipalKind[] = ["public", "user", "service", "admin"];
export const backends: readonly PrincipalKind[] = ["service", "admin"];
export const admins: readonly PrincipalKind[] = ["admin"];

/**
 * Refuses to start a server whose table misses an RPC: a forgotten entry must be a failed start,
 * not an RPC open to everyone or silently closed.
 */
export function assertCovers(table: AccessTable, services: readonly DescService[]): void {
  const missing = services.flatMap((service) =>
    service.methods.map((method) => procedureName(service, method.name)).filter((name) => !table.has(name)),
  );
  if (missing.length > 0) throw new Error(`access table has no entry for: ${missing.join(", ")}`);
}
