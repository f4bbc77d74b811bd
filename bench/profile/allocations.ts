/**
 * What a server allocated between two snapshots of `npm run bench -- --heap-sample <dir>`
 * (bench/profile/heapSampler.cjs), by owner (as summarize.ts gives CPU time: the innermost package or
 * onetime source file on the stack), by allocating function and by its stack's four innermost frames:
 * `npx tsx bench/profile/allocations.ts <earlier.json> <later.json> [--calls N] [--top N]`.
 * Samples are told apart by their ordinal, so what the earlier snapshot holds is left out; with
 * --calls (the RPCs served between the two, from the bench's req/s and the snapshots' seconds),
 * figures are bytes per call.
 */
import { readFileSync } from "node:fs";
import type { HeapProfiler } from "node:inspector";
import { Owners } from "./owners.js";

/** V8's sampling heap profile as the inspector gives it; @types/node leaves out node ids and samples. */
type ProfileNode = Omit<HeapProfiler.SamplingHeapProfileNode, "children"> & { readonly id: number; readonly children: readonly ProfileNode[] };
interface SamplingProfile {
  readonly head: ProfileNode;
  readonly samples: ReadonlyArray<{ readonly size: number; readonly nodeId: number; readonly ordinal: number }>;
}

const args = process.argv.slice(2);
const option = (name: string): number | undefined => {
  const index = args.indexOf(name);
  return index >= 0 ? Number(args[index + 1]) : undefined;
};
const files = args.filter((arg, index) => !arg.startsWith("--") && !args[index - 1]?.startsWith("--"));
if (files.length !== 2) {
  process.stderr.write("usage: npx tsx bench/profile/allocations.ts <earlier.json> <later.json> [--calls N] [--top N]\n");
  process.exit(2);
}
const calls = option("--calls");
const top = option("--top") ?? 25;
const [earlier, later] = files.map((file) => JSON.parse(readFileSync(file, "utf8")) as SamplingProfile) as [SamplingProfile, SamplingProfile];

const before = new Set(earlier.samples.map((sample) => sample.ordinal));
const nodes = new Map<number, { node: ProfileNode; parent: number | undefined }>();
const walk = (node: ProfileNode, parent: number | undefined): void => {
  nodes.set(node.id, { node, parent });
  for (const child of node.children) walk(child, node.id);
};
walk(later.head, undefined);

const nameOf = ({ callFrame }: ProfileNode): string =>
  `${callFrame.functionName || "(anonymous)"} ${callFrame.url.replace(/^.*node_modules\//, "").replace(/^.*\/dist\//, "dist/")}:${callFrame.lineNumber + 1}`;

const owners = new Owners(process.cwd());
function* framesOf(nodeId: number): Generator<ProfileNode["callFrame"]> {
  for (let id: number | undefined = nodeId; id !== undefined; id = nodes.get(id)?.parent) {
    const entry = nodes.get(id);
    if (entry === undefined) return;
    yield entry.node.callFrame;
  }
}

const byOwner = new Map<string, number>();
const byFunction = new Map<string, number>();
const byStack = new Map<string, number>();
let total = 0;
for (const sample of later.samples) {
  if (before.has(sample.ordinal)) continue;
  total += sample.size;
  const owner = owners.ofStack(framesOf(sample.nodeId));
  byOwner.set(owner, (byOwner.get(owner) ?? 0) + sample.size);
  const frames: string[] = [];
  for (let id: number | undefined = sample.nodeId; id !== undefined && frames.length < 4; id = nodes.get(id)?.parent) {
    const entry = nodes.get(id);
    if (entry === undefined) break;
    if (entry.node.callFrame.url !== "" || frames.length === 0) frames.push(nameOf(entry.node));
  }
  byFunction.set(frames[0]!, (byFunction.get(frames[0]!) ?? 0) + sample.size);
  const stack = frames.join(" < ");
  byStack.set(stack, (byStack.get(stack) ?? 0) + sample.size);
}

const amount = (bytes: number): string =>
  calls === undefined ? `${(bytes / 1024 / 1024).toFixed(1).padStart(7)} MB ${((bytes / total) * 100).toFixed(1).padStart(5)} %` : `${Math.round(bytes / calls).toString().padStart(7)} B/call`;
const print = (title: string, entries: Map<string, number>): void => {
  process.stdout.write(`\n${title}:\n`);
  for (const [name, bytes] of [...entries].sort((a, b) => b[1] - a[1]).slice(0, top)) process.stdout.write(`${amount(bytes)}  ${name}\n`);
};
process.stdout.write(`allocated between the snapshots: ${amount(total)}${calls === undefined ? "" : ` (${(total / 1024 / 1024).toFixed(1)} MB over ${calls} calls)`}\n`);
print("By owner", byOwner);
print("By allocating function", byFunction);
print("By stack (innermost four frames)", byStack);
