import type { BuiltinLocale } from "./builtinLocale.js";
import { de } from "./de.js";
import { en } from "./en.js";

/** The locales onetime ships, by canonical tag. Overrides may add others. */
export const BUILTIN_LOCALES: ReadonlyMap<string, BuiltinLocale> = new Map([
  ["en", en],
  ["de", de],
]);
