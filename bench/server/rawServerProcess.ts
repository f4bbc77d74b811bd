import { spawn } from "node:child_process";
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface, type Interface } from "node:readline";
import { setTimeout as sleep } from "node:timers/promises";
import { build } from "esbuild";
import type { Protocol } from "../clients/types.js";
import { pinnedCommand } from "./cpuPinning.js";
import { GcTrace, isV8TraceLine } from "./gcTrace.js";
import { ProcessMonitor } from "./procStats.js";
import { waitForIdle, type MeasuredServer } from "./serverProcess.js";

export interface RawServerOptions {
  /** The repository root: the script is built into dist/bench/ there, where node_modules resolves. */
  readonly cwd: string;
  /** Node flags after the onetime server's own (e.g. --cpu-prof). */
  readonly nodeArgs?: readonly string[];
  /** CPUs to run on: the onetime server's, so both are measured on the same core. */
  readonly cpus: string | null;
}

export interface RawConnectServer extends MeasuredServer {
  /** Where a protocol's clients call: the h2c port for gRPC and Connect binary, the HTTP/1.1 one for Connect JSON. */
  urlFor(protocol: Protocol): string;
  stop(): Promise<{ exitCode: number | null }>;
}

const startTimeoutMs = 20_000;

/**
 * Starts bench/server/rawConnectServer.ts as the onetime server is started: built by esbuild as
 * scripts/build.mjs builds dist/main.js (bundled, packages external, ESM for node20, source maps),
 * then `node --max-semi-space-size=16 --enable-source-maps` on it, behind `taskset -c <cpus>`
 * when pinned. So the two differ in what they serve, not in how their code is compiled or run.
 */
export async function startRawConnectServer(options: RawServerOptions): Promise<RawConnectServer> {
  const outfile = join(options.cwd, "dist", "bench", "rawConnectServer.js");
  await build({
    entryPoints: [join(options.cwd, "bench", "server", "rawConnectServer.ts")],
    outfile,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    packages: "external",
    sourcemap: true,
    logLevel: "warning",
  });
  const logDir = mkdtempSync(join(tmpdir(), "onetime-bench-raw-"));
  const stderrFile = join(logDir, "stderr.log");
  const stderrFd = openSync(stderrFile, "w");
  const cpus = options.cpus;
  const started = pinnedCommand(cpus, process.execPath, ["--max-semi-space-size=16", "--enable-source-maps", ...(options.nodeArgs ?? []), outfile]);
  const child = spawn(started.command, started.args, { cwd: options.cwd, env: { PATH: process.env.PATH, HOME: process.env.HOME }, stdio: ["ignore", "pipe", stderrFd] });
  closeSync(stderrFd);
  const stderr = () => readFileSync(stderrFile, "utf8").slice(-2000) || "(empty)";
  let stopping = false;
  let early: string | undefined;
  const exited = new Promise<number | null>((resolve) =>
    child.once("exit", (code, signal) => {
      // Read now: stop() removes the file.
      if (!stopping) early = `${signal === null ? `exit code ${code}` : `signal ${signal}`}; stderr: ${stderr()}`;
      resolve(code);
    }),
  );

  // One reader for all of stdout: the ports line, and V8's --trace-gc lines when asked for.
  const gcTrace = new GcTrace();
  const lines = createInterface({ input: child.stdout! });
  lines.on("line", (line) => gcTrace.take(line, performance.now()));
  let ports: { http1: number; http2: number };
  try {
    ports = await Promise.race([
      firstLine(lines).then((line) => JSON.parse(line) as { http1: number; http2: number }),
      exited.then((code) => Promise.reject(new Error(`exited with ${code}`))),
      sleep(startTimeoutMs).then(() => Promise.reject(new Error(`no ports after ${startTimeoutMs / 1000} s`))),
    ]);
  } catch (error) {
    child.kill("SIGKILL");
    await exited;
    const why = `the raw connect-node server did not start (${error instanceof Error ? error.message : String(error)}); stderr: ${stderr()}`;
    rmSync(logDir, { recursive: true, force: true });
    throw new Error(why);
  }

  return {
    pid: child.pid!,
    backend: "none",
    workers: 1,
    cpus,
    urlFor: (protocol) => `http://127.0.0.1:${protocol === "connect-json-h1" ? ports.http1 : ports.http2}`,
    monitor: () => new ProcessMonitor(child.pid!),
    outboxBacklog: async () => undefined,
    settle: (timeoutMs = 30_000) => waitForIdle(child.pid!, timeoutMs),
    exitedEarly: () => early,
    gcTrace: options.nodeArgs?.includes("--trace-gc") === true ? gcTrace : undefined,
    async stop() {
      stopping = true;
      child.kill("SIGTERM");
      const exitCode = await Promise.race([exited, sleep(10_000, "timeout" as const)]);
      if (exitCode === "timeout") {
        child.kill("SIGKILL");
        await exited;
      }
      rmSync(logDir, { recursive: true, force: true });
      return { exitCode: exitCode === "timeout" ? null : exitCode };
    },
  };
}

/** The first line that is not V8's tracing; the reader keeps reading (and draining) stdout after it. */
function firstLine(lines: Interface): Promise<string> {
  return new Promise((resolve, reject) => {
    const take = (line: string) => {
      if (isV8TraceLine(line)) return;
      lines.off("line", take);
      resolve(line);
    };
    lines.on("line", take);
    lines.once("close", () => reject(new Error("stdout closed before the ports line")));
  });
}
