import { existsSync, readFileSync } from "node:fs";
import type { Runtime } from "node:inspector";
import { SourceMap } from "node:module";
import { dirname, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The package a file path is in (`@scope/name` or `name`), if it is in node_modules. */
export function packageOf(path: string): string | undefined {
  const modules = path.lastIndexOf("node_modules/");
  if (modules < 0) return undefined;
  const rest = path.slice(modules + "node_modules/".length).split("/");
  return rest[0]!.startsWith("@") ? `${rest[0]}/${rest[1]}` : rest[0]!;
}

/** A sample with no package or onetime frame on its stack: timers, the HTTP parser's callbacks. */
export const nodeOnly = "(Node, with no package or onetime frame above)";

/**
 * Who the work of a CPU profile's samples belongs to: a package, or (through a bundle's source
 * map) the onetime source file its code was compiled from. Node's own code and V8's natives work
 * for whoever called them, so a socket write is the cost of the client library that wrote it.
 */
export class Owners {
  /** Source maps by bundle path, read once; null where a file has none. */
  readonly #sourceMaps = new Map<string, SourceMap | null>();

  constructor(private readonly repoRoot: string) {}

  /** The owner of a sample, given its stack innermost frame first. */
  ofStack(frames: Iterable<Runtime.CallFrame>): string {
    let innermost = true;
    for (const frame of frames) {
      // The collector, the idle loop and "(program)" are owners of their own.
      if (innermost && frame.url === "" && frame.functionName.startsWith("(")) return frame.functionName;
      innermost = false;
      const owner = this.ofFrame(frame);
      if (owner !== undefined) return owner;
    }
    return nodeOnly;
  }

  /** A frame's package or onetime source file; undefined for Node's and V8's own code. */
  ofFrame(frame: Runtime.CallFrame): string | undefined {
    const { url } = frame;
    if (url === "" || url.startsWith("node:")) return undefined;
    const path = url.startsWith("file://") ? fileURLToPath(url) : url;
    const inPackage = packageOf(path);
    if (inPackage !== undefined) return inPackage;
    const original = this.#sourceMapOf(path)?.findEntry(frame.lineNumber, frame.columnNumber);
    if (original === undefined || !("originalSource" in original)) return relative(this.repoRoot, path);
    const source = resolve(dirname(path), original.originalSource);
    // A package bundled in is still that package.
    return packageOf(source) ?? relative(this.repoRoot, source);
  }

  #sourceMapOf(path: string): SourceMap | null {
    let map = this.#sourceMaps.get(path);
    if (map === undefined) {
      map = existsSync(`${path}.map`) ? new SourceMap(JSON.parse(readFileSync(`${path}.map`, "utf8"))) : null;
      this.#sourceMaps.set(path, map);
    }
    return map;
  }
}
