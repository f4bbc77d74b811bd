import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { nodeOnly, Owners, packageOf } from "../../bench/profile/owners.js";

const root = mkdtempSync(join(tmpdir(), "onetime-owners-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

// A bundle of two lines: line 0 compiled from src/crypto/box.ts, line 1 from a package bundled in.
const bundle = join(root, "dist", "main.js");
mkdirSync(join(root, "dist"));
writeFileSync(bundle, "a();\nb();\n");
writeFileSync(
  `${bundle}.map`,
  JSON.stringify({ version: 3, sources: ["../src/crypto/box.ts", "../node_modules/@scope/lib/index.js"], names: [], mappings: "AAAA;ACAA" }),
);

const frame = (url: string, functionName = "f", lineNumber = 0) => ({ functionName, url, lineNumber, columnNumber: 0, scriptId: "0" });

describe("profile owners", () => {
  const owners = new Owners(root);

  it("names a package by its node_modules path, scoped or not", () => {
    expect(packageOf("/x/node_modules/ioredis/built/Redis.js")).toBe("ioredis");
    expect(packageOf("/x/node_modules/@connectrpc/connect/dist/esm/a.js")).toBe("@connectrpc/connect");
    expect(packageOf("/x/node_modules/a/node_modules/b/c.js")).toBe("b");
    expect(packageOf("/x/src/a.ts")).toBeUndefined();
  });

  it("follows the bundle's source map to the onetime file, or to a package bundled in", () => {
    expect(owners.ofFrame(frame(pathToFileURL(bundle).href, "seal", 0))).toBe("src/crypto/box.ts");
    expect(owners.ofFrame(frame(pathToFileURL(bundle).href, "lib", 1))).toBe("@scope/lib");
  });

  it("gives Node's frames to the innermost owner above them", () => {
    const stack = [frame("", "writeUtf8String"), frame("node:net"), frame(pathToFileURL("/x/node_modules/ioredis/built/Pipeline.js").href), frame(pathToFileURL(bundle).href)];
    expect(owners.ofStack(stack)).toBe("ioredis");
    expect(owners.ofStack([frame("node:internal/timers"), frame("node:events")])).toBe(nodeOnly);
  });

  it("keeps the collector and the idle loop as owners of their own", () => {
    expect(owners.ofStack([frame("", "(garbage collector)")])).toBe("(garbage collector)");
    expect(owners.ofStack([frame("", "(idle)")])).toBe("(idle)");
  });
});
