import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { createServer } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { Redis } from "ioredis";

/**
 * A redis-server of a test's own on a free port, for what the shared one must not suffer
 * (SHUTDOWN, cluster mode). Never persists anything.
 */
export interface PrivateRedis {
  readonly port: number;
  readonly url: string;
  /** SHUTDOWN NOSAVE, as a crash would lose everything, then the same server comes back empty. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export async function startPrivateRedis(extraArgs: readonly string[] = [], chosenPort?: number): Promise<PrivateRedis> {
  const port = chosenPort ?? (await freePort());
  const args = ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", ...extraArgs];
  let server = await launch(args, port);
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    async restart() {
      await shutdown(server, port);
      server = await launch(args, port);
    },
    async stop() {
      await shutdown(server, port);
    },
  };
}

async function launch(args: readonly string[], port: number): Promise<ChildProcess> {
  const child = spawn("redis-server", args, { stdio: "ignore" });
  for (let tries = 0; tries < 100; tries++) {
    if (child.exitCode !== null) throw new Error(`redis-server on port ${port} exited with ${child.exitCode}`);
    const probe = new Redis({ port, host: "127.0.0.1", lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
    probe.on("error", () => {});
    try {
      await probe.connect();
      await probe.ping();
      return child;
    } catch {
      await sleep(50);
    } finally {
      probe.disconnect();
    }
  }
  child.kill();
  throw new Error(`redis-server on port ${port} did not start`);
}

async function shutdown(child: ChildProcess, port: number): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = once(child, "exit");
  const admin = new Redis({ port, host: "127.0.0.1", lazyConnect: true, retryStrategy: () => null });
  admin.on("error", () => {});
  await admin.connect().catch(() => undefined);
  // The server closes the connection as it goes, so the reply never comes.
  await admin.call("SHUTDOWN", "NOSAVE").catch(() => undefined);
  admin.disconnect();
  await Promise.race([exited, sleep(5_000).then(() => child.kill("SIGKILL"))]);
}

/** A port nothing listens on: any (0), or the one asked for, which is refused if taken. */
export async function freePort(port = 0): Promise<number> {
  const server = createServer();
  server.listen(port, "127.0.0.1");
  await once(server, "listening");
  const address = server.address();
  server.close();
  if (address === null || typeof address === "string") throw new Error("no port");
  return address.port;
}
