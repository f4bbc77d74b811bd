import { rm } from "node:fs/promises";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { build, type Metafile } from "esbuild";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildClientPackage, root } from "./builtClient.js";

// What a web app writes: a Connect-web transport, the clients, the error helper.
const browserEntry = `
import { createConnectTransport } from "@connectrpc/connect-web";
import { createOnetimeClients, readOnetimeError } from "@onetime/client";

const { verification } = createOnetimeClients(createConnectTransport({ baseUrl: "https://onetime.example" }));

export async function check(verificationId, code) {
  try {
    await verification.validateVerification({ verificationId, code });
    return "ok";
  } catch (error) {
    const { reason, metadata } = readOnetimeError(error);
    return reason === "WRONG_CODE" ? \`wrong code, \${metadata.attempts_left} left\` : reason;
  }
}
`;

/** `entry` bundled from `dir`, where @onetime/client is installed; its peers from the repository's node_modules. */
async function bundle(entry: string, dir: string): Promise<{ code: Uint8Array; metafile: Metafile }> {
  const result = await build({
    stdin: { contents: entry, resolveDir: dir, loader: "js", sourcefile: "app.js" },
    nodePaths: [join(root, "node_modules")],
    bundle: true,
    platform: "browser",
    format: "esm",
    minify: true,
    write: false,
    metafile: true,
    logLevel: "silent",
  });
  return { code: result.outputFiles[0]!.contents, metafile: result.metafile };
}

describe("@onetime/client in a browser bundle", () => {
  let dir: string | undefined;
  let code: Uint8Array;
  let inputs: string[];

  beforeAll(async () => {
    // The bundle takes the package as published: its exports map and tsc's dist/.
    dir = (await buildClientPackage()).dir;
    const result = await bundle(browserEntry, dir);
    code = result.code;
    inputs = Object.keys(result.metafile.inputs);
  }, 120_000);
  afterAll(async () => {
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it("bundles from the built package", () => {
    expect(inputs.some((input) => input.includes("node_modules/@onetime/client/dist/"))).toBe(true);
  });

  it("contains no server-only module", () => {
    const serverOnly = /node_modules\/(@bufbuild\/protovalidate|@bufbuild\/cel|@connectrpc\/connect-node)\/|^node:|http2/;
    expect(inputs.filter((input) => serverOnly.test(input))).toEqual([]);
  });

  it("takes one service's file by its own path, and then holds only that service", async () => {
    const single = await bundle(
      `import { createClient } from "@connectrpc/connect";
      import { createConnectTransport } from "@connectrpc/connect-web";
      import { VerificationService } from "@onetime/client/gen/onetime/v1/verification_service_pb.js";
      export const verification = createClient(VerificationService, createConnectTransport({ baseUrl: "/" }));`,
      dir!,
    );
    const files = Object.keys(single.metafile.inputs).filter((input) => input.includes("@onetime/client/"));
    expect(files.map((file) => file.slice(file.indexOf("dist/")))).toEqual(["dist/gen/onetime/v1/verification_service_pb.js"]);
    expect(single.code.byteLength).toBeLessThan(code.byteLength);
  });

  it("stays browser-sized", () => {
    // Measured 2026-12 with esbuild 0.28: 135 KB minified, 39 KB gzipped; 89 KB of it is
    // @bufbuild/protobuf, 28 KB the three services' code. The repository's gen/ in the same app: 202 KB,
    // 72 KB of it @bufbuild/protovalidate. The ceilings leave room for the proto to grow, not for a runtime.
    const gzipped = gzipSync(code).byteLength;
    console.log(`@onetime/client browser bundle: ${code.byteLength} bytes minified, ${gzipped} gzipped`);
    expect(code.byteLength).toBeLessThan(160_000);
    expect(gzipped).toBeLessThan(45_000);
  });
});
