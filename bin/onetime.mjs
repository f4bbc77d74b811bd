#!/usr/bin/env node
// `npx onetime …` in this repository (npm runs a project's own bin): compiles src/ to dist/ when a
// source changed, as `npm start` does, then runs the command in dist/cli.js. Nothing but the
// command's own output reaches stdout, so `TOKEN=$(npx onetime token …)` captures the token alone.
import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const built = spawnSync(process.execPath, [join(root, "scripts", "build.mjs"), "--if-stale"], { stdio: ["ignore", 2, 2] });
if (built.status !== 0) process.exit(built.status ?? 1);
await import(pathToFileURL(join(root, "dist", "cli.js")).href);
