import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { Redis } from "ioredis";
import { redisHostPort, redisUrl } from "../server/backends.js";

const run = promisify(execFile);

export interface RedisCeiling {
  readonly test: string;
  readonly command: string;
  readonly requestsPerSecond: number;
  readonly p50Ms?: number;
}

/** The one-key script the EVAL ceiling runs: a read inside Lua, as the hot path's scripts are. */
const evalScript = "return redis.call('hget',KEYS[1],'a')";
const evalKey = "bench:ceiling:eval";

/**
 * The store's own ceiling with `redis-benchmark` (32 clients, like the bench): SET, GET and an
 * EVAL of a small one-key script, which is what the hot path sends (EVALSHA of short scripts).
 */
export async function redisCeilings(requests: number): Promise<RedisCeiling[]> {
  const { host, port } = redisHostPort();
  const base = ["-h", host, "-p", String(port), "-c", "32", "-n", String(requests), "-q"];
  const results: RedisCeiling[] = [];
  const setGet = await run("redis-benchmark", [...base, "-t", "set,get"], { timeout: 120_000 });
  results.push(...parse(setGet.stdout).map((entry) => ({ ...entry, command: `redis-benchmark ${base.join(" ")} -t set,get` })));
  const evalArgs = [...base, "eval", evalScript, "1", evalKey];
  const evaluated = await run("redis-benchmark", evalArgs, { timeout: 120_000 });
  results.push(
    ...parse(evaluated.stdout).map((entry) => ({ ...entry, test: "EVAL (one-key script)", command: `redis-benchmark ${evalArgs.map(quote).join(" ")}` })),
  );
  await removeBenchmarkKeys();
  if (results.length !== 3) throw new Error(`could not read redis-benchmark's output: ${setGet.stdout.slice(-300)} ${evaluated.stdout.slice(-300)}`);
  return results;
}

/** redis-benchmark -q prints progress with \r and ends each test with "NAME: N requests per second, p50=X msec". */
function parse(stdout: string): Array<{ test: string; requestsPerSecond: number; p50Ms?: number }> {
  const found: Array<{ test: string; requestsPerSecond: number; p50Ms?: number }> = [];
  for (const line of stdout.split(/[\r\n]+/)) {
    const match = /^\s*(.+?): ([\d.]+) requests per second(?:, p50=([\d.]+) msec)?/.exec(line);
    if (match === null) continue;
    found.push({ test: match[1]!, requestsPerSecond: Number(match[2]), ...(match[3] === undefined ? {} : { p50Ms: Number(match[3]) }) });
  }
  return found;
}

function quote(arg: string): string {
  return /^[\w.,:-]+$/.test(arg) ? arg : `"${arg}"`;
}

/** SET writes the literal key "key:__rand_int__" (no -r); nothing else is left behind. */
async function removeBenchmarkKeys(): Promise<void> {
  const redis = new Redis(redisUrl(), { lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
  try {
    await redis.del("key:__rand_int__");
  } finally {
    redis.disconnect();
  }
}
