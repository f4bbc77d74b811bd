import type { DescFile } from "@bufbuild/protobuf";

/**
 * The given files followed by everything they import, transitively, each once and roots first.
 * Deduplicated by file name rather than identity: two generated copies of the same .proto (a
 * library bundling its own gen/) are one file to a client, and sending both would break its pool.
 */
export function reachableFiles(roots: readonly DescFile[]): DescFile[] {
  const byName = new Map<string, DescFile>();
  const queue = [...roots];
  for (let file = queue.shift(); file !== undefined; file = queue.shift()) {
    // file.name drops ".proto"; clients ask for, and import by, the name in the descriptor.
    const name = file.proto.name;
    if (byName.has(name)) continue;
    byName.set(name, file);
    queue.push(...file.dependencies);
  }
  return [...byName.values()];
}
