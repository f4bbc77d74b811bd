import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync, readlinkSync } from "node:fs";

/**
 * What the server costs, read from /proc (Linux): CPU time (user + system) and resident memory of
 * a process and all its descendants (the cluster primary and its workers).
 */

let ticksPerSecond: number | undefined;

/** USER_HZ, the unit of utime/stime in /proc/<pid>/stat (almost always 100). */
function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    const reported = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim());
    ticksPerSecond = Number.isInteger(reported) && reported > 0 ? reported : 100;
  }
  return ticksPerSecond;
}

interface StatLine {
  readonly comm: string;
  readonly ppid: number;
  readonly ticks: number;
  /** Clock ticks after boot the process started at: with the pid, tells a reused pid from the old process. */
  readonly startTime: string;
}

/** Fields of /proc/<pid>/stat after the command name, which may itself hold spaces and parentheses. */
function readStat(pid: number): StatLine | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return undefined;
  }
  const nameEnd = text.lastIndexOf(")");
  const fields = text.slice(nameEnd + 2).split(" ");
  // After the name: state(0) ppid(1) ... utime(11) stime(12) ... starttime(19).
  return {
    comm: text.slice(text.indexOf("(") + 1, nameEnd),
    ppid: Number(fields[1]),
    ticks: Number(fields[11]) + Number(fields[12]),
    startTime: fields[19] ?? "",
  };
}

/** The process and every descendant alive now. */
export function processTree(rootPid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync("/proc")) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    const stat = readStat(pid);
    if (stat === undefined) continue;
    const siblings = children.get(stat.ppid);
    if (siblings === undefined) children.set(stat.ppid, [pid]);
    else siblings.push(pid);
  }
  const tree: number[] = [];
  const pending = [rootPid];
  while (pending.length > 0) {
    const pid = pending.pop()!;
    tree.push(pid);
    pending.push(...(children.get(pid) ?? []));
  }
  return tree;
}

/** CPU time so far of each process, in seconds. */
export function cpuSeconds(pids: readonly number[]): Map<number, number> {
  const seconds = new Map<number, number>();
  for (const pid of pids) {
    const stat = readStat(pid);
    if (stat !== undefined) seconds.set(pid, stat.ticks / clockTicks());
  }
  return seconds;
}

/**
 * CPU time so far (seconds) of every process whose command name (comm) is one of `names`, keyed
 * by pid and start time (a pid reused during a window is a new process, counted from 0).
 */
export function cpuSecondsByCommand(names: readonly string[]): Map<string, number> {
  const seconds = new Map<string, number>();
  if (names.length === 0) return seconds;
  for (const entry of readdirSync("/proc")) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    const stat = readStat(pid);
    if (stat !== undefined && names.includes(stat.comm)) seconds.set(`${pid}:${stat.startTime}`, stat.ticks / clockTicks());
  }
  return seconds;
}

/**
 * CPU of a set of local processes found by command name (Postgres: every `postgres` process, its
 * backends and background workers; Redis: `redis-server`) between `markStart` and `markEnd`, the
 * same moments the server's ProcessMonitor uses. Processes that appear during the window count
 * from 0; ones that exit during it are lost (what they used is not readable any more). `seconds`
 * is null when no such process exists at either end: the store is not a local process, its CPU
 * is not known here.
 */
export class CommandCpuWindow {
  readonly #names: readonly string[];
  #atStart: Map<string, number> | undefined;
  #seconds: number | null = null;

  constructor(names: readonly string[]) {
    this.#names = names;
  }

  markStart(): void {
    this.#atStart = cpuSecondsByCommand(this.#names);
  }

  markEnd(): void {
    if (this.#atStart === undefined) return;
    const now = cpuSecondsByCommand(this.#names);
    if (now.size === 0 && this.#atStart.size === 0) {
      this.#seconds = null;
      return;
    }
    let used = 0;
    for (const [key, seconds] of now) used += seconds - (this.#atStart.get(key) ?? 0);
    this.#seconds = used;
  }

  /** CPU seconds over the window, or null when unavailable (no such local process, or no window). */
  get seconds(): number | null {
    return this.#seconds;
  }
}

/** Resident set size of one process in kB (VmRSS), 0 if it is gone. */
export function rssKb(pid: number): number {
  try {
    const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return match === null ? 0 : Number(match[1]);
  } catch {
    return 0;
  }
}

export function commandName(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, "utf8").trim();
  } catch {
    return "";
  }
}

/** Whether the process holds an established TCP connection to 127.0.0.1-or-any:`port`. */
export function hasConnectionToPort(pid: number, port: number): boolean {
  const inodes = new Set<string>();
  try {
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      try {
        const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (match !== null) inodes.add(match[1]!);
      } catch {
        // The descriptor closed while we looked.
      }
    }
  } catch {
    return false;
  }
  const hexPort = port.toString(16).toUpperCase().padStart(4, "0");
  for (const table of ["tcp", "tcp6"]) {
    let text: string;
    try {
      text = readFileSync(`/proc/${pid}/net/${table}`, "utf8");
    } catch {
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      const columns = line.trim().split(/\s+/);
      // local_address(1) rem_address(2) st(3) ... inode(9); st 01 is ESTABLISHED.
      if (columns.length > 9 && columns[2]!.endsWith(`:${hexPort}`) && columns[3] === "01" && inodes.has(columns[9]!)) return true;
    }
  }
  return false;
}

export interface ServerCost {
  /** CPU time over the window as a percentage of one core (200% = two cores busy). */
  readonly cpuPercent: number;
  /** Peak of the summed RSS of all the server's processes, sampled every 200 ms. */
  readonly peakRssMb: number;
}

/**
 * Samples a process tree while a scenario runs: RSS every 200 ms (the peak of the sum), and CPU
 * between `markStart` and `markEnd` (the load generator's measured window).
 */
export class ProcessMonitor {
  readonly #rootPid: number;
  readonly #timer: NodeJS.Timeout;
  #peakKb = 0;
  #cpuAtStart: Map<number, number> | undefined;
  #startedAt = 0;
  #cpuPercent = 0;
  #cpuSeconds = 0;

  constructor(rootPid: number, intervalMs = 200) {
    this.#rootPid = rootPid;
    this.#sample();
    this.#timer = setInterval(() => this.#sample(), intervalMs);
  }

  markStart(): void {
    this.#cpuAtStart = cpuSeconds(processTree(this.#rootPid));
    this.#startedAt = performance.now();
  }

  markEnd(): void {
    if (this.#cpuAtStart === undefined) return;
    const now = cpuSeconds(processTree(this.#rootPid));
    let used = 0;
    for (const [pid, seconds] of now) used += seconds - (this.#cpuAtStart.get(pid) ?? 0);
    const elapsed = (performance.now() - this.#startedAt) / 1000;
    this.#cpuSeconds = used;
    this.#cpuPercent = elapsed > 0 ? (used / elapsed) * 100 : 0;
  }

  /** CPU seconds the tree used between `markStart` and `markEnd` (unrounded). */
  get windowCpuSeconds(): number {
    return this.#cpuSeconds;
  }

  stop(): ServerCost {
    clearInterval(this.#timer);
    this.#sample();
    return { cpuPercent: Math.round(this.#cpuPercent), peakRssMb: Math.round(this.#peakKb / 102.4) / 10 };
  }

  #sample(): void {
    let total = 0;
    for (const pid of processTree(this.#rootPid)) total += rssKb(pid);
    this.#peakKb = Math.max(this.#peakKb, total);
  }
}
