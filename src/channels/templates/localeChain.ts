/** Longer tags are not locales anyone sends; they are ignored rather than parsed. */
const MAX_LOCALE_LENGTH = 64;

/**
 * The canonical form of a BCP 47 tag (`pt-br` → `pt-BR`), accepting the POSIX `pt_BR` spelling;
 * `undefined` when it is not a locale.
 */
export function canonicalLocale(tag: string): string | undefined {
  if (tag === "" || tag.length > MAX_LOCALE_LENGTH) return undefined;
  try {
    return Intl.getCanonicalLocales(tag.replaceAll("_", "-"))[0];
  } catch {
    return undefined;
  }
}

/**
 * The locales to try for a tag, most specific first (RFC 4647 lookup): `de-CH-1996`, `de-CH`,
 * `de`. A singleton left at the end (`-u`, `-x`) goes with the subtag after it.
 */
export function truncations(locale: string): string[] {
  const subtags = locale.split("-");
  const chain: string[] = [];
  while (subtags.length > 0) {
    chain.push(subtags.join("-"));
    subtags.pop();
    while (subtags.length > 0 && (subtags.at(-1) ?? "").length === 1) subtags.pop();
  }
  return chain;
}

/**
 * Where to look for a template asked for in `requested`: the exact locale, then less specific
 * ones down to the language, then the fallback locale's own chain. An unknown or malformed
 * `requested` goes straight to the fallback.
 */
export function localeChain(requested: string | undefined, fallbackLocale: string): string[] {
  const canonical = requested === undefined ? undefined : canonicalLocale(requested);
  const chain = [...(canonical === undefined ? [] : truncations(canonical)), ...truncations(fallbackLocale)];
  return [...new Set(chain)];
}
