/**
 * Generates @onetime/client's code for onetime.v1 without a runtime import of
 * buf/validate/validate.proto.
 *
 * The server's generated code imports protovalidate's validate_pb (rules are read from it), which
 * puts @bufbuild/protovalidate and its CEL runtime into every bundle that loads a schema. A client
 * needs none of it: the rules stay in the descriptors as options (so a web app that installs
 * protovalidate can still check forms with the server's rules), but the file no longer names
 * validate.proto as a dependency. The one part of validate.proto a client reads — the
 * buf.validate.Violations detail the server sends with `invalid_argument` — is generated on its own,
 * pruned to those four messages by `buf build --type`.
 *
 * Also copies the .proto files @onetime/proto ships, so both packages follow the proto in one step.
 * `--check` writes nothing and exits 1 naming every file that differs from what it would write.
 */
import { execFileSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { fromBinary, toBinary } from "@bufbuild/protobuf";
import { FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";

const clientDir = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const root = resolve(clientDir, "../..");
const validateFile = "buf/validate/validate.proto";

const clientSources = ["src/gen"];
const protoSources = [
  ["proto/onetime", "onetime"],
  ["third_party/proto/buf", "buf"],
  ["third_party/proto/google", "google"],
] as const;

if (process.argv.includes("--check")) {
  const scratch = mkdtempSync(join(tmpdir(), "onetime-client-check-"));
  try {
    generate(join(scratch, "client"), join(scratch, "proto"));
    const stale = [
      ...clientSources.flatMap((dir) => differences(join(scratch, "client", dir), join(clientDir, dir))),
      ...protoSources.flatMap(([, dir]) => differences(join(scratch, "proto", dir), join(root, "packages/proto", dir))),
    ];
    if (stale.length > 0) {
      console.error(`stale (run npm run generate):\n${stale.map((file) => `  ${file}`).join("\n")}`);
      process.exitCode = 1;
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
} else {
  generate(clientDir, join(root, "packages/proto"));
}

function generate(clientOut: string, protoOut: string): void {
  const work = mkdtempSync(join(tmpdir(), "onetime-client-gen-"));
  try {
    const full = join(work, "full.binpb");
    const violations = join(work, "violations.binpb");
    buf(["build", ".", "--path", "proto/onetime/v1", "--path", "third_party/proto/google/rpc/error_details.proto", "-o", full]);
    buf(["build", ".", "--type", "buf.validate.Violations", "-o", violations]);

    const set = fromBinary(FileDescriptorSetSchema, readFileSync(full));
    const pruned = fromBinary(FileDescriptorSetSchema, readFileSync(violations)).file.find((f) => f.name === validateFile);
    if (pruned === undefined) throw new Error(`${validateFile} missing from the Violations image`);
    set.file = set.file.map((file) => {
      if (file.name === validateFile) return pruned;
      if (file.dependency.includes(validateFile)) {
        if (file.publicDependency.length > 0 || file.weakDependency.length > 0) {
          throw new Error(`${file.name}: public or weak imports would be renumbered; handle them here`);
        }
        file.dependency = file.dependency.filter((name) => name !== validateFile);
      }
      return file;
    });
    const image = join(work, "client.binpb");
    writeFileSync(image, toBinary(FileDescriptorSetSchema, set));

    buf([
      "generate", image,
      "--template", join(clientDir, "buf.gen.yaml"),
      "--output", clientOut,
      "--path", "onetime/v1", "--path", "google/rpc/error_details.proto", "--path", validateFile,
    ]);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  for (const [from, to] of protoSources) {
    rmSync(join(protoOut, to), { recursive: true, force: true });
    cpSync(join(root, from), join(protoOut, to), { recursive: true });
  }
}

/** Files that are in one tree and not the other, or differ. */
function differences(expected: string, actual: string): string[] {
  const files = new Set([...listFiles(expected), ...listFiles(actual)]);
  return [...files].filter((file) => {
    const [a, b] = [join(expected, file), join(actual, file)];
    return !existsSync(a) || !existsSync(b) || !readFileSync(a).equals(readFileSync(b));
  }).map((file) => join(actual, file).slice(root.length + 1));
}

function listFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name).slice(dir.length + 1));
}

function buf(args: string[]): void {
  execFileSync(join(root, "node_modules/.bin/buf"), args, { cwd: root, stdio: "inherit" });
}
