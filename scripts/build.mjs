#!/usr/bin/env node
// Compiles src/ into ESM files, dist/main.js (the server) and dist/cli.js (`npx onetime …`), so
// `npm start` runs plain JavaScript instead of compiling TypeScript on every start (tsx took 6-9 s
// per start; this build takes ~0.1 s, once).
// Packages stay external: they are loaded from node_modules as they are, PGlite's WASM included.
//
//   node scripts/build.mjs             build now
//   node scripts/build.mjs --if-stale  build only when a source is newer than the output
//                                      (what `npm start` and bin/onetime.mjs run, so a fresh clone or a pull is
//                                      compiled on the first start after it, and says so)
import { readdirSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const entries = ["main", "cli"];
const outdir = join(root, "dist");
// Everything the bundles are made from: a change to any of these makes them stale.
const inputs = ["src", "gen", "package-lock.json", "scripts/build.mjs"].map((path) => join(root, path));

function newestChange(path) {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return readdirSync(path).reduce((newest, name) => Math.max(newest, newestChange(join(path, name))), stat.mtimeMs);
}

/** When the oldest output was written; undefined if one is missing. */
function builtAt() {
  try {
    return Math.min(...entries.map((entry) => statSync(join(outdir, `${entry}.js`)).mtimeMs));
  } catch {
    return undefined;
  }
}

const ifStale = process.argv.includes("--if-stale");
const built = builtAt();
if (ifStale && built !== undefined && Math.max(...inputs.map(newestChange)) <= built) process.exit(0);

const started = performance.now();
const reason = built === undefined ? "not built yet" : "sources changed since the last build";
if (ifStale) process.stderr.write(`onetime: compiling src/ to dist/ (${reason})…\n`);
try {
  await build({
    entryPoints: Object.fromEntries(entries.map((entry) => [entry, join(root, "src", `${entry}.ts`)])),
    outdir,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    packages: "external",
    sourcemap: true,
    logLevel: "warning",
  });
} catch {
  // esbuild has printed what is wrong, with file and line.
  process.stderr.write("onetime: build failed; see above. `npm run typecheck` gives the full picture.\n");
  process.exit(1);
}
if (ifStale) process.stderr.write(`onetime: compiled in ${Math.round(performance.now() - started)} ms\n`);
