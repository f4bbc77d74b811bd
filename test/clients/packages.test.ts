import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { buildClientPackage, root } from "./builtClient.js";

const run = promisify(execFile);
const manifest = (path: string) => JSON.parse(readFileSync(`${root}${path}`, "utf8"));

/** The files `npm pack` would put in the tarball of the package in `dir`. */
async function packedFiles(dir: string): Promise<string[]> {
  const { stdout } = await run("npm", ["pack", "--dry-run", "--json", "--ignore-scripts", dir], { cwd: root });
  const [pack] = JSON.parse(stdout) as { files: { path: string }[] }[];
  return pack!.files.map((file) => file.path).sort();
}

describe("the client packages", () => {
  it("follow the proto: generated code and proto copies are what npm run generate writes", async () => {
    await expect(run("npx", ["tsx", "packages/client/scripts/generate.ts", "--check"], { cwd: root })).resolves.toBeDefined();
  }, 60_000);

  it("are versioned with the service", () => {
    const version = manifest("package.json").version;
    expect(manifest("packages/client/package.json").version).toBe(version);
    expect(manifest("packages/proto/package.json").version).toBe(version);
  });

  it("@onetime/proto ships every file a grpc-js client loads, and a buf module", async () => {
    const files = await packedFiles(join(root, "packages/proto"));
    expect(files).toEqual(
      expect.arrayContaining([
        "README.md",
        "buf.yaml",
        "buf/validate/validate.proto",
        "google/rpc/error_details.proto",
        "google/rpc/status.proto",
        "onetime/v1/account_token_service.proto",
        "onetime/v1/token_service.proto",
        "onetime/v1/verification_service.proto",
      ]),
    );
    expect(files.filter((file) => !/^(README\.md|buf\.yaml|package\.json|(onetime|buf|google)\/.*\.proto)$/.test(file))).toEqual([]);
  });

  it("@onetime/client ships its build, needs no runtime but its peers, and imports no validator", async () => {
    const { dir, packageDir } = await buildClientPackage();
    const client = manifest("packages/client/package.json");
    expect(client).toMatchObject({ type: "module", sideEffects: false });
    expect(client.dependencies).toBeUndefined();
    expect(Object.keys(client.peerDependencies).sort()).toEqual(["@bufbuild/protobuf", "@connectrpc/connect"]);

    const files = await packedFiles(packageDir);
    expect(files).toEqual(expect.arrayContaining(["dist/index.js", "dist/index.d.ts", "dist/gen/onetime/v1/verification_service_pb.js"]));
    expect(files.filter((file) => !/^(README\.md|package\.json|dist\/.*\.(js|d\.ts))$/.test(file))).toEqual([]);
    const imports = files
      .filter((file) => file.endsWith(".js"))
      .flatMap((file) => [...readFileSync(join(packageDir, file), "utf8").matchAll(/from "([^".][^"]*)"/g)].map((match) => match[1]));
    expect([...new Set(imports)].sort()).toEqual(["@bufbuild/protobuf/codegenv2", "@bufbuild/protobuf/wkt", "@connectrpc/connect"]);
    await rm(dir, { recursive: true, force: true });
  }, 60_000);
});
