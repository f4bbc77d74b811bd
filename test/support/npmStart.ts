import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { dropSchema, testDatabaseUrl, uniqueSchema } from "./postgres.js";
import { connectTestRedis, deleteKeysWithPrefix, testRedisUrl, uniqueTestPrefix } from "./redis.js";
import { testClaims, testEncryptionKeys, testJwtSecret } from "./tokens.js";

export type LogLine = Record<string, unknown>;

export interface StartedProcess {
  readonly child: ChildProcess;
  /** Every JSON log line printed so far (npm's own lines are left out). */
  readonly lines: LogLine[];
  /** The Postgres schema it runs in, for a test that reaches into its tables. */
  readonly schema: string;
  /** Resolves with the URL once `servingLines` processes have logged that they serve. */
  readonly serving: Promise<string>;
  /** Resolves with the exit status (null when killed by a signal). */
  readonly exited: Promise<number | null>;
  /** Sends a signal to every process in its group, as systemd and container runtimes do. */
  signalGroup(signal: NodeJS.Signals): void;
  /** Kills whatever is left and removes its schema and Redis keys. */
  cleanUp(): Promise<void>;
}

/**
 * Runs `npm start` as a user or a service manager would: its own process group, so a signal can
 * go to npm and node at once. Real Postgres (own schema) and Redis (own prefix).
 */
export function npmStart(label: string, env: Record<string, string> = {}, servingLines = 1): StartedProcess {
  const schema = uniqueSchema(label);
  const prefix = uniqueTestPrefix(label);
  const child = spawn("npm", ["start", "--silent"], {
    detached: true,
    env: {
      ...process.env,
      PORT: "0",
      HOST: "127.0.0.1",
      METRICS_PORT: "0",
      DATABASE_URL: testDatabaseUrl(),
      DATABASE_SCHEMA: schema,
      REDIS_URL: testRedisUrl(),
      REDIS_KEY_PREFIX: prefix,
      AUTH_JWT_SECRET: testJwtSecret,
      AUTH_ISSUER: testClaims.issuer,
      AUTH_AUDIENCE: testClaims.audience,
      ENCRYPTION_KEYS: testEncryptionKeys,
      // Real stores print messages only when asked to by name.
      CONSOLE_CHANNELS: "email,sms,push",
      ...env,
    },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const lines: LogLine[] = [];
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const serving = new Promise<string>((resolve, reject) => {
    let count = 0;
    createInterface({ input: child.stdout! }).on("line", (line) => {
      if (!line.startsWith("{")) return;
      const entry = JSON.parse(line) as LogLine;
      lines.push(entry);
      if (typeof entry.url === "string" && ++count === servingLines) resolve(entry.url);
    });
    void exited.then((code) => reject(new Error(`npm start exited with ${code} before serving`)));
  });
  return {
    child,
    lines,
    schema,
    serving,
    exited,
    signalGroup: (signal) => process.kill(-child.pid!, signal),
    async cleanUp() {
      if (child.exitCode === null && child.signalCode === null) {
        try {
          process.kill(-child.pid!, "SIGKILL");
        } catch {
          // Already gone.
        }
      }
      await dropSchema(schema);
      const admin = await connectTestRedis();
      try {
        await deleteKeysWithPrefix(admin, prefix);
      } finally {
        await admin.quit();
      }
    },
  };
}
