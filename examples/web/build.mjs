#!/usr/bin/env node
// Builds the example into examples/web/dist (node examples/web/build.mjs), or builds and serves
// it (--serve [port], default 8000, on 127.0.0.1): one esbuild bundle per page, plus the HTML.
import { cp } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

const here = dirname(fileURLToPath(import.meta.url));
const pages = ["index", "device", "attach", "profile", "signup"];

/**
 * esbuild options for the pages. In this repository @onetime/client is the workspace package, taken
 * from its sources so nothing needs building first; an app that installed the package drops the alias.
 */
export function buildOptions(outdir) {
  return {
    entryPoints: pages.map((page) => join(here, "src", `${page}.ts`)),
    alias: { "@onetime/client": join(here, "../../packages/client/src/index.ts") },
    outdir,
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    minify: true,
    sourcemap: true,
    logLevel: "warning",
  };
}

/** Writes the pages and their scripts to `outdir`. */
export async function buildWebExample(outdir = join(here, "dist")) {
  await cp(join(here, "public"), outdir, { recursive: true });
  await esbuild.build(buildOptions(outdir));
  return outdir;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const outdir = await buildWebExample();
  const serveAt = process.argv.indexOf("--serve");
  if (serveAt === -1) {
    console.log(`built ${outdir}`);
  } else {
    const port = Number(process.argv[serveAt + 1] ?? 8000);
    const context = await esbuild.context(buildOptions(outdir));
    const { hosts, port: servedPort } = await context.serve({ servedir: outdir, host: "127.0.0.1", port });
    console.log(`serving http://${hosts[0]}:${servedPort}/ (add it to the server's CORS_ORIGINS)`);
  }
}
