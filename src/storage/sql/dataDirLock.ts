import { open, readFile, rm, mkdir } from "node:fs/promises";
import { hostname } from "node:os";
import { dirname, resolve } from "node:path";
import { StartRefused } from "../../errors/startRefused.js";

/** Who holds a data directory, as written in its lock file. */
interface Holder {
  readonly pid: number;
  readonly host: string;
  readonly since: string;
}

export interface DataDirLock {
  /** Gives the directory up; harmless if called twice or if the lock file is gone. */
  release(): Promise<void>;
}

/**
 * Makes an embedded PGlite data directory belong to one process. PGlite keeps the database in
 * memory and writes it back to the directory: two processes on one directory do not see each
 * other's writes, and whichever stops last overwrites the other's (a TOTP enrolment made on one
 * was gone). The lock is a file beside the directory (`<dir>.lock`; inside it would make a new
 * directory non-empty for PGlite's initdb), created exclusively, naming the process. A lock whose
 * process no longer runs on this host (a crash, a kill -9) is taken over.
 */
export async function lockDataDir(dataDir: string): Promise<DataDirLock> {
  const directory = resolve(dataDir);
  const file = `${directory}.lock`;
  await mkdir(dirname(file), { recursive: true });
  const me: Holder = { pid: process.pid, host: hostname(), since: new Date().toISOString() };
  // Twice at most: once as found, once after removing a dead process's lock.
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await open(file, "wx");
      await handle.writeFile(JSON.stringify(me));
      await handle.close();
      return { release: () => releaseIfMine(file) };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
    const holder = await readHolder(file);
    if (holder !== undefined && isRunning(holder)) {
      throw new StartRefused(
        `DATA_DIR ${directory} is in use by process ${holder.pid} on ${holder.host} (since ${holder.since}). ` +
          "One data directory belongs to one process: stop that one, or give this one another DATA_DIR " +
          `(or DATABASE_URL). If no such process runs any more, remove ${file}.`,
      );
    }
    await rm(file, { force: true });
  }
  throw new StartRefused(`DATA_DIR ${directory}: could not take ${file}; another process keeps taking it`);
}

async function readHolder(file: string): Promise<Holder | undefined> {
  try {
    const holder = JSON.parse(await readFile(file, "utf8")) as Partial<Holder>;
    return typeof holder.pid === "number" && typeof holder.host === "string" ? { pid: holder.pid, host: holder.host, since: String(holder.since) } : undefined;
  } catch {
    // Unreadable (cut short by a crash mid-write): nobody can be holding it through that file.
    return undefined;
  }
}

/** A holder on another host cannot be checked from here, so it counts as running. */
function isRunning(holder: Holder): boolean {
  if (holder.host !== hostname()) return true;
  if (holder.pid === process.pid) return true;
  try {
    process.kill(holder.pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

async function releaseIfMine(file: string): Promise<void> {
  const holder = await readHolder(file);
  if (holder?.pid === process.pid && holder.host === hostname()) await rm(file, { force: true });
}
