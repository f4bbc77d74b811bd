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

/**
 * A folder of the tree and what its files may import (paths from the repo root): only the
 * folders listed under `only`, or anything but those under `not`; and no package under `packagesNot`.
 */
type Rule = { readonly folder: string; readonly packagesNot?: readonly string[] } & (
  | { readonly only: readonly string[] }
  | { readonly not: readonly string[] }
);

const rules: readonly Rule[] = [
  // Not channels, auth, storage, rpc, config, observability, delivery, gen: only its own words,
  // the error kinds every layer answers with, and the keyed hash and box its secrets are kept in.
  // Nor the libraries of the transport, the stores, the providers or the logs.
  {
    folder: "src/domain",
    only: ["src/domain", "src/errors", "src/crypto"],
    packagesNot: ["@connectrpc", "@bufbuild", "ioredis", "pg", "knex", "@electric-sql", "nodemailer", "pino", "@opentelemetry"],
  },
  { folder: "src/rpc", not: ["src/channels", "src/storage"] },
];

async function sourceFiles(folder: string): Promise<string[]> {
  const entries = await readdir(path.join(root, folder), { recursive: true, withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile() && entry.name.endsWith(".ts"))
    .map((entry) => path.relative(root, path.join(entry.parentPath, entry.name)))
    .sort();
}

function specifiers(source: string): string[] {
  return ts.preProcessFile(source, true, true).importedFiles.map((imported) => imported.fileName);
}

/** The repo paths a file's relative imports name. */
function importedPaths(file: string, source: string): string[] {
  return specifiers(source)
    .filter((specifier) => specifier.startsWith("."))
    .map((specifier) => path.relative(root, path.resolve(root, path.dirname(file), specifier)));
}

/** The packages a file imports: `@scope/name/sub` is `@scope/name`, `name/sub` is `name`. */
function importedPackages(source: string): string[] {
  return specifiers(source)
    .filter((specifier) => !specifier.startsWith("."))
    .map((specifier) => specifier.split("/").slice(0, specifier.startsWith("@") ? 2 : 1).join("/"));
}

function within(file: string, folder: string): boolean {
  return file === folder || file.startsWith(`${folder}/`);
}

function packageAllowed(rule: Rule, name: string): boolean {
  return !(rule.packagesNot ?? []).some((banned) => name === banned || name.startsWith(`${banned}/`));
}

function allowed(rule: Rule, imported: string): boolean {
  return "only" in rule ? rule.only.some((folder) => within(imported, folder)) : !rule.not.some((folder) => within(imported, folder));
}

function describeRule(rule: Rule): string {
  const folders = "only" in rule ? `imports only from ${rule.only.join(", ")}` : `imports nothing from ${rule.not.join(", ")}`;
  return rule.packagesNot === undefined ? folders : `${folders}, and no package of ${rule.packagesNot.join(", ")}`;
}

async function violations(rule: Rule): Promise<string[]> {
  const found: string[] = [];
  for (const file of await sourceFiles(rule.folder)) {
    const source = await readFile(path.join(root, file), "utf8");
    for (const imported of importedPaths(file, source)) {
      if (!allowed(rule, imported)) found.push(`${file} imports ${imported}`);
    }
    for (const name of importedPackages(source)) {
      if (!packageAllowed(rule, name)) found.push(`${file} imports the package ${name}`);
    }
  }
  return found;
}

describe("layering", () => {
  for (const rule of rules) {
    it(`${rule.folder} ${describeRule(rule)}`, async () => {
      expect(await sourceFiles(rule.folder)).not.toEqual([]);
      expect(await violations(rule)).toEqual([]);
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
    expect(importedPackages('import { a } from "@bufbuild/protobuf/wkt";\nimport b from "pg";\nimport c from "nodemailer/lib/addressparser";')).toEqual([
      "@bufbuild/protobuf",
      "pg",
      "nodemailer",
    ]);
  });
});
