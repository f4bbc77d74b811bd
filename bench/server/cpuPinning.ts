import { spawnSync } from "node:child_process";

/**
 * Pins a one-worker server and the bench process to a core each (taskset, Linux), so that the
 * load generator and the server under test do not take turns on the same core: the server gets
 * a whole core, and `srv CPU %` and `bench CPU %` each read against 100%. Runs with more than one
 * worker are not pinned (the server may use every core), nor are Postgres and Redis.
 */

export interface CpuPinning {
  /** Whether one-worker servers and the bench are pinned (taskset found, two CPUs allowed, not --no-pin). */
  readonly enabled: boolean;
  /** The bench process's CPU list when it started, restored whenever it is not pinned. */
  readonly allowedCpus: string | null;
  /** The CPU a one-worker server runs on (`taskset -c <cpu> node ...`). */
  readonly serverCpus: string | null;
  /** The CPU the bench process (every thread: `taskset -a -p`) runs on while a one-worker server runs. */
  readonly benchCpus: string | null;
  /** Why it is off, or what it does, in words. */
  readonly description: string;
}

/** Reads the bench's CPU affinity and decides the pinning (called once, before anything is pinned). */
export function planCpuPinning(requested: boolean): CpuPinning {
  const off = (allowedCpus: string | null, why: string): CpuPinning => ({
    enabled: false,
    allowedCpus,
    serverCpus: null,
    benchCpus: null,
    description: `unpinned (${why})`,
  });
  const current = currentAffinity(process.pid);
  if (current === undefined) return off(null, "taskset not found: server and bench share every core");
  if (!requested) return off(current, "--no-pin");
  const cpus = expandCpuList(current);
  if (cpus.length < 2) return off(current, `only CPU ${current} is allowed`);
  const serverCpus = String(cpus[0]);
  const benchCpus = String(cpus[1]);
  return {
    enabled: true,
    allowedCpus: current,
    serverCpus,
    benchCpus,
    description:
      `one-worker servers on CPU ${serverCpus}, the bench on CPU ${benchCpus} (taskset); ` +
      `servers with more workers, and the bench meanwhile, unpinned (CPUs ${current}); Postgres and Redis unpinned`,
  };
}

/** `taskset -pc <pid>`: "pid 123's current affinity list: 0,1" -> "0,1"; undefined without taskset. */
function currentAffinity(pid: number): string | undefined {
  const result = spawnSync("taskset", ["-pc", String(pid)], { encoding: "utf8" });
  if (result.error !== undefined || result.status !== 0) return undefined;
  const match = /affinity list:\s*(\S+)/.exec(result.stdout);
  return match?.[1];
}

let benchPinned: string | null = null;

/** The CPU list the bench process is pinned to now, or null when it runs on every allowed CPU. */
export function benchPinnedTo(): string | null {
  return benchPinned;
}

/** Pins the bench process (every thread) to the plan's bench CPU. Call after starting the server: children inherit affinity. */
export function pinBench(plan: CpuPinning): void {
  if (!plan.enabled || plan.benchCpus === null) return;
  setAffinity(process.pid, plan.benchCpus);
  benchPinned = plan.benchCpus;
}

/** Gives the bench back every CPU it had at the start (before an unpinned server, the stores and growth parts). */
export function unpinBench(plan: CpuPinning): void {
  if (benchPinned === null || plan.allowedCpus === null) return;
  setAffinity(process.pid, plan.allowedCpus);
  benchPinned = null;
}

/** Sets the CPU list of every thread of a process (`taskset -a -pc`: without -a only the main thread moves). */
export function setAffinity(pid: number, cpuList: string): void {
  const result = spawnSync("taskset", ["-a", "-pc", cpuList, String(pid)], { encoding: "utf8" });
  if (result.error !== undefined) throw result.error;
  if (result.status !== 0) throw new Error(`taskset -a -pc ${cpuList} ${pid} failed: ${result.stderr.trim()}`);
}

/** "0-2,5" -> [0, 1, 2, 5]. */
export function expandCpuList(list: string): number[] {
  const cpus: number[] = [];
  for (const part of list.split(",")) {
    const [from, to] = part.split("-").map(Number);
    if (from === undefined || !Number.isInteger(from)) continue;
    for (let cpu = from; cpu <= (to !== undefined && Number.isInteger(to) ? to : from); cpu++) cpus.push(cpu);
  }
  return cpus;
}

/** The command line that starts a process on `cpuList` (taskset execs the command: same pid). */
export function pinnedCommand(cpuList: string | null, command: string, args: readonly string[]): { command: string; args: string[] } {
  return cpuList === null ? { command, args: [...args] } : { command: "taskset", args: ["-c", cpuList, command, ...args] };
}
