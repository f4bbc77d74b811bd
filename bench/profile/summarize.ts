import { readFileSync } from "node:fs";
import type { Profiler, Runtime } from "node:inspector";
import { relative } from "node:path";
import { Owners, packageOf } from "./owners.js";

/**
 * Reads V8 CPU profiles (`--cpu-prof`, e.g. `npm run bench -- --cpu-prof <dir>`) and prints where
 * the time went: by owner (onetime's source file or the package whose code ran, Node's own frames
 * given to whichever of those called them), by package or source area (self time), by function
 * (self and total), and the heaviest stacks, folded, for a flame graph.
 * `npx tsx bench/profile/summarize.ts <file.cpuprofile> [--top N] [--calls N] [--folded out.txt]`.
 */

type CallFrame = Runtime.CallFrame;
type Profile = Profiler.Profile & { readonly samples: readonly number[]; readonly timeDeltas: readonly number[] };

const args = process.argv.slice(2);
const file = args.find((arg, index) => !arg.startsWith("--") && !args[index - 1]?.startsWith("--"));
if (file === undefined) {
  process.stderr.write("usage: npx tsx bench/profile/summarize.ts <file.cpuprofile> [--top N] [--after S] [--before S] [--calls N] [--folded out.txt]\n");
  process.exit(2);
}
const topIndex = args.indexOf("--top");
const top = topIndex >= 0 ? Number(args[topIndex + 1]) : 30;
// The calls (or rounds) the window served: owners are then also given in microseconds per call,
// which, unlike shares, compare across windows and servers.
const callsIndex = args.indexOf("--calls");
const calls = callsIndex >= 0 ? Number(args[callsIndex + 1]) : undefined;
const foldedIndex = args.indexOf("--folded");
const foldedFile = foldedIndex >= 0 ? args[foldedIndex + 1] : undefined;
// A bench profile covers every run on its server: --after/--before keep one window (seconds from the profile's start).
const afterIndex = args.indexOf("--after");
const afterMicros = afterIndex >= 0 ? Number(args[afterIndex + 1]) * 1e6 : 0;
const beforeIndex = args.indexOf("--before");
const beforeMicros = beforeIndex >= 0 ? Number(args[beforeIndex + 1]) * 1e6 : Number.POSITIVE_INFINITY;

const profile = JSON.parse(readFileSync(file, "utf8")) as Profile;
const byId = new Map(profile.nodes.map((node) => [node.id, node]));
const parent = new Map<number, number>();
for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);

// Microseconds per node: each sample's delta is the time up to the next sample.
const selfMicros = new Map<number, number>();
/** The window's samples in order: what ran, for how long. */
const timeline: { readonly id: number; readonly micros: number }[] = [];
let at = 0;
profile.samples.forEach((id, index) => {
  at += profile.timeDeltas[index] ?? 0;
  if (at < afterMicros || at > beforeMicros) return;
  const delta = Math.max(0, profile.timeDeltas[index + 1] ?? 0);
  selfMicros.set(id, (selfMicros.get(id) ?? 0) + delta);
  timeline.push({ id, micros: delta });
});
const total = [...selfMicros.values()].reduce((sum, value) => sum + value, 0);

const repoRoot = process.cwd();
function areaOf(frame: CallFrame): string {
  const { url, functionName } = frame;
  if (url === "") return functionName.startsWith("(") ? functionName : `(${functionName || "native"})`;
  const path = url.startsWith("file://") ? decodeURIComponent(url.slice("file://".length)) : url;
  const inPackage = packageOf(path);
  if (inPackage !== undefined) return inPackage;
  if (path.startsWith("node:")) return path;
  const local = relative(repoRoot, path);
  return local.split("/").slice(0, 3).join("/");
}
function nameOf(frame: CallFrame): string {
  const path = frame.url.startsWith("file://") ? relative(repoRoot, decodeURIComponent(frame.url.slice(7))) : frame.url;
  return `${frame.functionName || "(anonymous)"} ${path.replace(/^.*node_modules\//, "")}:${frame.lineNumber + 1}`;
}

const owners = new Owners(repoRoot);
function* framesOf(id: number): Generator<CallFrame> {
  for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) yield byId.get(at)!.callFrame;
}
const byArea = new Map<string, number>();
const byOwner = new Map<string, number>();
const selfByName = new Map<string, number>();
const totalByName = new Map<string, number>();
const folded = new Map<string, number>();
for (const [id, micros] of selfMicros) {
  const node = byId.get(id)!;
  byArea.set(areaOf(node.callFrame), (byArea.get(areaOf(node.callFrame)) ?? 0) + micros);
  selfByName.set(nameOf(node.callFrame), (selfByName.get(nameOf(node.callFrame)) ?? 0) + micros);
  const seen = new Set<string>();
  const stack: string[] = [];
  for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
    const frame = byId.get(at)!.callFrame;
    if (frame.functionName === "(root)") break;
    const name = nameOf(frame);
    stack.push(name);
    if (seen.has(name)) continue;
    seen.add(name);
    totalByName.set(name, (totalByName.get(name) ?? 0) + micros);
  }
  const owner = owners.ofStack(framesOf(id));
  byOwner.set(owner, (byOwner.get(owner) ?? 0) + micros);
  const key = stack.reverse().join(";");
  folded.set(key, (folded.get(key) ?? 0) + micros);
}

const busy = total - (byArea.get("(idle)") ?? 0);
const percent = (micros: number, of: number) => `${((100 * micros) / of).toFixed(1).padStart(5)} %`;
const seconds = (micros: number) => `${(micros / 1e6).toFixed(2)} s`;
const print = (line: string) => process.stdout.write(`${line}\n`);

print(`${file}: ${seconds(total)} sampled, ${seconds(busy)} busy (not idle); percentages are of busy time\n`);
print(`Self time by owner (the innermost onetime source file or package on each sample's stack)${calls === undefined ? "" : `, and per call over ${calls} calls`}:`);
for (const [owner, micros] of [...byOwner].sort((a, b) => b[1] - a[1]).slice(0, top)) {
  if (owner === "(idle)") continue;
  print(`  ${percent(micros, busy)}${calls === undefined ? "" : `  ${(micros / calls).toFixed(1).padStart(7)} us`}  ${owner}`);
}
print("\nSelf time by area:");
for (const [area, micros] of [...byArea].sort((a, b) => b[1] - a[1]).slice(0, top)) {
  if (area === "(idle)") continue;
  print(`  ${percent(micros, busy)}  ${area}`);
}
print("\nSelf time by function:");
for (const [name, micros] of [...selfByName].sort((a, b) => b[1] - a[1]).slice(0, top)) print(`  ${percent(micros, busy)}  ${name}`);
print("\nTotal time by function (self and callees):");
for (const [name, micros] of [...totalByName].sort((a, b) => b[1] - a[1]).slice(0, top)) print(`  ${percent(micros, busy)}  ${name}`);

// The tail: a call waits behind whatever holds the event loop. Runs of consecutive samples say
// how long the loop was held at a time: by the garbage collector, and by anything at all.
function runs(matches: (id: number) => boolean): number[] {
  const lengths: number[] = [];
  let current = 0;
  for (const sample of timeline) {
    if (matches(sample.id)) current += sample.micros;
    else if (current > 0) {
      lengths.push(current);
      current = 0;
    }
  }
  if (current > 0) lengths.push(current);
  return lengths.sort((a, b) => a - b);
}
const quantile = (sorted: readonly number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
const ms = (micros: number) => `${(micros / 1000).toFixed(1)} ms`;
const functionOf = (id: number) => byId.get(id)!.callFrame.functionName;
const gc = runs((id) => functionOf(id) === "(garbage collector)");
const held = runs((id) => functionOf(id) !== "(idle)");
print("\nEvent loop held (consecutive samples; the sampling interval bounds the resolution):");
print(`  garbage collector: ${gc.length} pauses, p50 ${ms(quantile(gc, 0.5))}, p99 ${ms(quantile(gc, 0.99))}, max ${ms(gc.at(-1) ?? 0)}, ${seconds(gc.reduce((sum, value) => sum + value, 0))} in all`);
print(`  busy stretches:    ${held.length}, p50 ${ms(quantile(held, 0.5))}, p99 ${ms(quantile(held, 0.99))}, max ${ms(held.at(-1) ?? 0)}; ${held.filter((value) => value >= 10_000).length} of 10 ms or more`);

if (foldedFile !== undefined) {
  const { writeFileSync } = await import("node:fs");
  writeFileSync(foldedFile, [...folded].map(([stack, micros]) => `${stack} ${micros}`).join("\n") + "\n");
  print(`\nfolded stacks (for flamegraph.pl or speedscope): ${foldedFile}`);
}
