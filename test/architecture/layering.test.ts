import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";

/*
 * Which folders may import which: the rules (src/domain) speak their own words and never reach
 * for an adapter, and the transport (src/rpc) maps calls onto the domain without touching
 * channels or stores. Both are wired to their adapters in src/app.ts. Imports are read with the
 * TypeScript scanner, so `import type`, `export … from` and `import("…")` all count, and text
 * in comments does not.
 */
const root = path.resolve(import.meta.dirname, "../..");

/** A folder of the tree, and the folders its files may not import from (paths from the repo root). */
const rules: ReadonlyArray<{ readonly folder: string; readonly forbidden: readonly string[] }> = [
  {
    folder: "src/domain",
    forbidden: ["src/channels", "src/auth", "src/storage", "src/rpc", "src/config", "src/observability", "src/server", "gen"],
  },
  { folder: "src/rpc", forbidden: ["src/channels", "src/storage"] },
];

async function sourceFiles(folder: string): Promise<string[]> {
  const entries = await readdir(path.join(root, folder), { recursive: true, withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile() && entry.name.endsWith(".ts"))
    .map((entry) => path.relative(root, path.join(entry.parentPath, entry.name)))
    .sort();
}

/** The repo paths a file's relative imports name (package imports are left out). */
function importedPaths(file: string, source: string): string[] {
  const { importedFiles } = ts.preProcessFile(source, true, true);
  return importedFiles
    .map((imported) => imported.fileName)
    .filter((specifier) => specifier.startsWith("."))
    .map((specifier) => path.relative(root, path.resolve(root, path.dirname(file), specifier)));
}

function within(file: string, folder: string): boolean {
  return file === folder || file.startsWith(`${folder}/`);
}

async function violations(folder: string, forbidden: readonly string[]): Promise<string[]> {
  const found: string[] = [];
  for (const file of await sourceFiles(folder)) {
    const source = await readFile(path.join(root, file), "utf8");
    for (const imported of importedPaths(file, source)) {
      if (forbidden.some((other) => within(imported, other))) found.push(`${file} imports ${imported}`);
    }
  }
  return found;
}

describe("layering", () => {
  for (const { folder, forbidden } of rules) {
    it(`${folder} imports nothing from ${forbidden.join(", ")}`, async () => {
      expect(await sourceFiles(folder)).not.toEqual([]);
      expect(await violations(folder, forbidden)).toEqual([]);
    });
  }

  it("reads type-only, re-exported and dynamic imports, and skips comments", () => {
    const source = [
      'import type { A } from "../channels/a.js";',
      'export { B } from "../storage/b.js";',
      'const c = await import("../rpc/c.js");',
      'type D = import("../auth/d.js").D;',
      '// import { E } from "../config/e.js";',
    ].join("\n");
    expect(importedPaths("src/domain/x.ts", source)).toEqual(["src/channels/a.js", "src/storage/b.js", "src/rpc/c.js", "src/auth/d.js"]);
  });
});
