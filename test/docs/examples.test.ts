import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compareShape, isErrorAnswer, jsonTexts, lenientJson, serverBlocks, shownAnswer, type DocBlock, type DocCommand } from "./docExamples.js";

/**
 * Every example in the README and docs/ that calls the server still pastes: each `buf curl` /
 * `curl` block runs, command by command, against one `npm start` on the embedded defaults, as a
 * reader would run it (the printed tokens exported, ids and codes carried from one answer, or from
 * the console, to the next command). Each answer must not be an error, and must have the shape the
 * page shows after `# ->`. The README's TypeScript callers run too.
 */

const root = fileURLToPath(new URL("../../", import.meta.url));
const pages = ["README.md", ...(await readdir(join(root, "docs"))).filter((name) => name.endsWith(".md")).map((name) => `docs/${name}`)];
const blocksByPage = await Promise.all(pages.map(async (page) => serverBlocks(page, await readFile(join(root, page), "utf8"))));

interface ConsoleMessage {
  readonly kind: string;
  readonly to: string;
  readonly text: string;
}

interface Ran {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

let server: ChildProcess;
let dataDir: string;
let url: string;
let baseEnv: NodeJS.ProcessEnv;
let consoleText = "";

/** The console channel's messages so far, in order (it prints them whole to stderr). */
function consoleMessages(): ConsoleMessage[] {
  const pattern = /DEVELOPMENT (EMAIL|SMS|PUSH) \(console channel, not delivered\)\n([\s\S]*?)\n-{72}/g;
  return [...consoleText.matchAll(pattern)].map(([, kind, body]) => ({
    kind: kind!.toLowerCase(),
    to: /^to:\s+(.*)$/m.exec(body!)?.[1] ?? "",
    text: body!,
  }));
}

async function until<T>(what: string, probe: () => T | undefined, ms = 10_000): Promise<T> {
  for (const started = Date.now(); Date.now() - started < ms; await new Promise((resolve) => setTimeout(resolve, 25))) {
    const found = probe();
    if (found !== undefined) return found;
  }
  throw new Error(`timed out waiting for ${what}`);
}

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), "onetime-docs-"));
  baseEnv = { ...process.env, PORT: "0", HOST: "127.0.0.1", METRICS_PORT: "off", DATA_DIR: join(dataDir, "pgdata"), NODE_ENV: "development", LOG_LEVEL: "warn" };
  for (const name of ["DATABASE_URL", "REDIS_URL", "AUTH_JWT_SECRET", "AUTH_JWKS_URL", "AUTH_ISSUER", "AUTH_AUDIENCE", "ENCRYPTION_KEYS", "HMAC_KEY", "CORS_ORIGINS"]) {
    delete baseEnv[name];
  }
  // Its own process group, so cleanup reaches the service behind npm.
  // TEST_MODE for docs/test-mode.md; no other page's example sends to a test destination.
  server = spawn("npm", ["start", "--silent"], { cwd: root, env: { ...baseEnv, LOG_LEVEL: "info", TEST_MODE: "true" }, stdio: ["ignore", "pipe", "pipe"], detached: true });
  server.stderr!.setEncoding("utf8").on("data", (chunk: string) => (consoleText += chunk));
  url = await new Promise<string>((resolve, reject) => {
    server.once("exit", (code) => reject(new Error(`npm start exited with ${code}: ${consoleText}`)));
    createInterface({ input: server.stdout! }).on("line", (line) => {
      if (!line.startsWith("{")) return;
      const entry = JSON.parse(line) as { url?: unknown };
      if (typeof entry.url === "string") resolve(entry.url.replace("localhost", "127.0.0.1"));
    });
  });
  const token = (name: string) => until(name, () => new RegExp(`export ${name}=(\\S+)`).exec(consoleText)?.[1]);
  baseEnv.SERVICE_TOKEN = await token("SERVICE_TOKEN");
  baseEnv.ADMIN_TOKEN = await token("ADMIN_TOKEN");
}, 60_000);

afterAll(async () => {
  try {
    process.kill(-server.pid!, "SIGKILL");
  } catch {
    // Already gone.
  }
  await rm(dataDir, { recursive: true, force: true });
});

/**
 * `npx buf` is the buf binary `npm ci` installed; calling it directly spares npx's half second of
 * start-up per command, which across every example is most of this file's time.
 */
const npxBuf = `npx() { if [ "$1" = buf ]; then shift; "${root}node_modules/.bin/buf" "$@"; else command npx "$@"; fi; }`;

function run(script: string, env: NodeJS.ProcessEnv, background = false): { child: ChildProcess; done: Promise<Ran>; stdout: () => string } {
  const child = spawn("bash", ["-c", `${npxBuf}\n${script}`], { cwd: root, env, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout!.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
  child.stderr!.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  const timer = background ? undefined : setTimeout(() => child.kill("SIGKILL"), 20_000);
  const done = new Promise<Ran>((resolve) =>
    child.once("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    }),
  );
  return { child, done, stdout: () => stdout };
}

/** What one page's examples share as a reader's shell would: variables, and values carried from earlier answers. */
class Reader {
  private readonly vars: Record<string, string> = {};
  private readonly fresh = new Map<string, string>();
  private watch: { done: Promise<Ran>; command: string } | undefined;

  private env(): NodeJS.ProcessEnv {
    return { ...baseEnv, ...this.vars };
  }

  /** The command with the port the test server got and the values earlier answers gave. */
  substitute(text: string): string {
    let out = text.replaceAll("http://localhost:8080", url);
    for (const [shown, real] of [...this.fresh].sort(([a], [b]) => b.length - a.length)) out = out.replaceAll(shown, real);
    return out;
  }

  async perform(command: DocCommand, where: string): Promise<void> {
    const text = this.substitute(command.text);
    const seen = consoleMessages().length;
    if (!/\bcurl\b/.test(text)) await this.setUp(text, where);
    else if (text.endsWith("&")) await this.startWatch(text.slice(0, -1).trim(), command, where);
    else await this.call(text, command, where);
    for (const note of command.notes) {
      if (/console shows/.test(note)) await this.readConsole(note, text, seen, where);
      const watched = /^the watch prints (\{.*\})/.exec(note);
      if (watched !== undefined && watched !== null) await this.endWatch(watched[1]!, where);
    }
  }

  /** A line that only sets the shell up (`AUTH=…`, `USER_TOKEN=$(npx onetime token …)`): keep what it exports. */
  private async setUp(text: string, where: string): Promise<void> {
    const envFile = join(dataDir, `env-${Math.random().toString(36).slice(2)}`);
    const ran = await run(`set -a\n${text}\nenv -0 > ${JSON.stringify(envFile)}`, this.env()).done;
    expect(ran.code, `${where}: ${text}\n${ran.stderr}`).toBe(0);
    const before = this.env();
    for (const entry of (await readFile(envFile, "utf8")).split("\0")) {
      const at = entry.indexOf("=");
      const [name, value] = [entry.slice(0, at), entry.slice(at + 1)];
      if (/^[A-Z][A-Z0-9_]*$/.test(name) && !["SHLVL", "PWD", "OLDPWD"].includes(name) && before[name] !== value) this.vars[name] = value;
    }
    await rm(envFile, { force: true });
  }

  private async call(text: string, command: DocCommand, where: string): Promise<void> {
    const ran = await run(text, this.env()).done;
    const context = `${where}: ${text}\nexit ${ran.code}\n${ran.stdout}\n${ran.stderr}`;
    expect(ran.code, context).toBe(0);
    const answers = jsonTexts(ran.stdout).map((value) => JSON.parse(value) as unknown);
    for (const answer of answers) expect(isErrorAnswer(answer), context).toBe(false);
    this.check(command.notes, answers[0], context);
  }

  private check(notes: readonly string[], answer: unknown, context: string): void {
    const shown = shownAnswer(notes);
    if (shown === undefined) return;
    expect(answer, `${context}\nthe page shows an answer, none came`).toBeDefined();
    expect(compareShape(shown, answer, this.fresh), context).toEqual([]);
  }

  /** `buf curl … WatchAuthToken … &`: a stream left running while the next commands go on. */
  private async startWatch(text: string, command: DocCommand, where: string): Promise<void> {
    const started = run(text, this.env(), true);
    const context = `${where}: ${text}`;
    const first = await until(`${context}: its first message`, () => jsonTexts(started.stdout())[0]);
    this.check(command.notes, JSON.parse(first), context);
    this.watch = { done: started.done, command: text };
  }

  private async endWatch(shownText: string, where: string): Promise<void> {
    expect(this.watch, `${where}: the page names a watch that was not started`).toBeDefined();
    const { done, command } = this.watch!;
    this.watch = undefined;
    const ran = await Promise.race([done, new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 10_000))]);
    const context = `${where}: ${command}`;
    expect(ran, `${context}: the stream did not end`).toBeDefined();
    expect(ran!.code, `${context}\n${ran!.stderr}`).toBe(0);
    const last = jsonTexts(ran!.stdout).at(-1);
    expect(compareShape(lenientJson(shownText), JSON.parse(last ?? "null"), this.fresh), context).toEqual([]);
  }

  /** A note saying what the console shows: the message must come, and its code (or pushed token) is the one later commands use. */
  private async readConsole(note: string, text: string, seen: number, where: string): Promise<void> {
    const messages = await until(`${where}: a console message (${note})`, () => {
      const all = consoleMessages();
      return all.length > seen ? all.slice(seen) : undefined;
    });
    // To whom the note says, else to whom the command asked for: other pages' messages may arrive meanwhile.
    const address = /[\w.+-]+@[\w.-]+\.\w+|\+\d{8,15}\b/g;
    const addressed: string[] = [...(note.match(address) ?? text.match(address) ?? [])];
    const shownCode = /\b\d{6}\b/.exec(note)?.[0];
    // Another page may have sent the same address a message without a code (a factor-change notice).
    const fits = (candidate: ConsoleMessage) =>
      (addressed.length === 0 || addressed.includes(candidate.to)) && (shownCode === undefined || /\b\d{6}\b/.test(candidate.text));
    const message = messages.findLast(fits) ?? messages.at(-1)!;
    if (shownCode !== undefined) {
      const code = /\b\d{6}\b/.exec(message.text)?.[0];
      expect(code, `${where}: no code in ${message.text}`).toBeDefined();
      this.fresh.set(shownCode, code!);
    }
    const shownToken = /"token":"([\w-]+)"/.exec(note)?.[1];
    if (shownToken !== undefined) {
      const pushed = messages.find((candidate) => candidate.kind === "push");
      expect(pushed, `${where}: no push on the console`).toBeDefined();
      const data = JSON.parse(/^data:\s+(.*)$/m.exec(pushed!.text)![1]!) as { token: string };
      this.fresh.set(shownToken, data.token);
    }
  }
}

it("finds the walkthroughs' examples", () => {
  const withExamples = pages.filter((_, index) => blocksByPage[index]!.length > 0);
  expect(withExamples).toEqual(expect.arrayContaining(["README.md", "docs/verification.md", "docs/tokens.md", "docs/account-tokens.md"]));
});

const pagesWithExamples = pages.map((page, index) => [page, blocksByPage[index]!] as const).filter(([, blocks]) => blocks.length > 0);

describe.each(pagesWithExamples)("the examples of %s", (page, blocks) => {
  const reader = new Reader();
  const where = (block: DocBlock) => `${page}:${block.line}`;
  for (const block of blocks) {
    it(`line ${block.line} pastes`, async () => {
      for (const command of block.commands) await reader.perform(command, where(block));
    }, 45_000);
  }
});

describe("the README's TypeScript callers", async () => {
  const readme = await readFile(join(root, "README.md"), "utf8");
  const examples = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map(([, source]) => source!);

  it("are there: a gRPC stub and a browser client", () => {
    expect(examples.some((source) => source.includes("createGrpcTransport"))).toBe(true);
    expect(examples.some((source) => source.includes("@connectrpc/connect-web"))).toBe(true);
  });

  it.concurrent.each(examples.map((source, index) => [index + 1, source] as const))("example %i runs against the server", async (_, source) => {
    // Beside this test, so the example's imports resolve as they do from the repository's root.
    const file = join(root, "test", "docs", `.readme-example-${process.pid}-${Math.random().toString(36).slice(2)}.ts`);
    // @onetime/client from its source: the workspace link points at dist/, built only when packed.
    const local = source.replaceAll('"./gen/', '"../../gen/').replaceAll('"@onetime/client"', '"../../packages/client/src/index.js"');
    await writeFile(file, local.replaceAll("http://localhost:8080", url));
    try {
      const ran = await run(`npx tsx ${JSON.stringify(file)}`, baseEnv).done;
      expect(ran.code, `${source}\n${ran.stdout}\n${ran.stderr}`).toBe(0);
    } finally {
      await rm(file, { force: true });
    }
  }, 30_000);
});
