import { execFile } from "node:child_process";
import { copyFile, mkdir, mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);
export const root = new URL("../..", import.meta.url).pathname;

/**
 * @onetime/client built as `npm pack` would ship it (package.json, README, tsc's dist/), in a
 * node_modules of its own under a temp dir: test files running at once never rebuild one another's
 * copy, and packages/client/dist is left alone. Returns the temp dir (resolve from it) and the package's.
 */
export async function buildClientPackage(): Promise<{ dir: string; packageDir: string }> {
  const dir = await mkdtemp(join(tmpdir(), "onetime-client-"));
  const packageDir = join(dir, "node_modules", "@onetime", "client");
  await mkdir(packageDir, { recursive: true });
  await run(join(root, "node_modules/.bin/tsc"), ["-p", join(root, "packages/client/tsconfig.json"), "--outDir", join(packageDir, "dist")]);
  for (const file of ["package.json", "README.md"]) await copyFile(join(root, "packages/client", file), join(packageDir, file));
  return { dir, packageDir };
}
