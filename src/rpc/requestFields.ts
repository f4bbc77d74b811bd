/** How request fields arrive, read the same way by every handler. */

/** Optional strings arrive as "": the domain takes them as absent. */
export function given(value: string): string | undefined {
  return value === "" ? undefined : value;
}

/** Ids are UUIDs the field rules accept in either case; the domain keys them lower-case. */
export function idOf(value: string): string {
  return value.toLowerCase();
}
