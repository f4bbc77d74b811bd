import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterEach, describe, expect, it } from "vitest";
import { buildApp, type App } from "../../src/app.js";
import { loadConfig } from "../../src/config/config.js";
import { developmentKeyFile } from "../../src/crypto/encryptionKeys.js";
import { StartRefused } from "../../src/errors/startRefused.js";
import { createLogger } from "../../src/observability/logger.js";
import { dropSchema, testDatabaseUrl, uniqueSchema } from "../support/postgres.js";
import { testRedisUrl, uniqueTestPrefix } from "../support/redis.js";
import { testJwtSecret } from "../support/tokens.js";

/**
 * The server key names durable rows (`totp_secrets.consumer_hash`). A start on another key than
 * the one that named them must be refused, loudly and before anything changes: otherwise every
 * enrolment reads as TOTP_NOT_ENROLLED, which looks like 2FA being off.
 */
const key = () => randomBytes(32).toString("base64");
const consumer = "alice@example.com";

interface Backend {
  /** DATABASE_URL / DATA_DIR and the like, the same at every start of one test. */
  readonly env: Record<string, string>;
  cleanUp(): Promise<void>;
}

const backends: Record<string, () => Promise<Backend>> = {
  async postgres() {
    const schema = uniqueSchema("key_change");
    // Nothing is sent here, and on real stores every kind must have a provider or be named.
    return { env: { DATABASE_URL: testDatabaseUrl(), DATABASE_SCHEMA: schema, DISABLED_CHANNELS: "email,sms,push" }, cleanUp: () => dropSchema(schema) };
  },
  async pglite() {
    // On disk: the data has to outlive the first start.
    const dir = await mkdtemp(join(tmpdir(), "onetime-key-change-"));
    return { env: { DATA_DIR: join(dir, "pgdata") }, cleanUp: () => rm(dir, { recursive: true, force: true }) };
  },
};

function start(backend: Backend, keys: Record<string, string>): Promise<App> {
  const config = loadConfig({ NODE_ENV: "test", AUTH_JWT_SECRET: testJwtSecret, ...backend.env, ...keys });
  return buildApp(config, createLogger("silent"));
}

/** Everything a refused start could have touched, read through a start that is accepted. */
async function snapshot(app: App): Promise<unknown> {
  const db = app.stores.db;
  return {
    keys: await db("onetime_keys").select("purpose", "fingerprint", "created_at").orderBy("purpose"),
    totp: await db("totp_secrets").select("consumer_hash", "sealed_secret", "key_id", "status", "last_used_step", "updated_at").orderBy("consumer_hash"),
    migrations: await db("onetime_migrations").select("name").orderBy("id"),
  };
}

/** A refused start: a StartRefused whose message names what to fix. */
async function refusal(backend: Backend, keys: Record<string, string>): Promise<StartRefused> {
  const failure = await start(backend, keys).then(
    async (app) => {
      await app.close();
      throw new Error("the start was accepted");
    },
    (error: unknown) => error,
  );
  expect(failure).toBeInstanceOf(StartRefused);
  return failure as StartRefused;
}

describe.each(Object.keys(backends))("a changed server key on %s", (name) => {
  let backend: Backend | undefined;
  afterEach(async () => {
    await backend?.cleanUp();
    backend = undefined;
  });

  it("is recorded as a fingerprint at the first start, and a restart with the same key finds the enrolment", async () => {
    backend = await backends[name]!();
    const keys = { ENCRYPTION_KEYS: `k1:${key()}`, HMAC_KEY: key() };
    const first = await start(backend, keys);
    try {
      const rows = await first.stores.db("onetime_keys").select<{ purpose: string; fingerprint: string }[]>("purpose", "fingerprint").orderBy("purpose", "desc");
      const fingerprint = expect.stringMatching(/^[A-Za-z0-9_-]{43}$/);
      expect(rows).toEqual([
        { purpose: "totp-consumer", fingerprint },
        { purpose: "profile-key", fingerprint },
      ]);
      // A fingerprint, not the key, and not the name of any consumer's row.
      expect(rows[0]!.fingerprint).not.toBe(keys.HMAC_KEY);
      expect(rows[1]!.fingerprint).not.toBe(keys.HMAC_KEY);
      await first.stores.totpSecrets.enrol(consumer, "sealed", "k1");
      const [row] = await first.stores.db("totp_secrets").select<{ consumer_hash: string }[]>("consumer_hash");
      expect(row!.consumer_hash).not.toBe(rows[0]!.fingerprint);
    } finally {
      await first.close();
    }

    const again = await start(backend, keys);
    try {
      expect(await again.stores.totpSecrets.find(consumer)).toMatchObject({ sealedSecret: "sealed", keyId: "k1" });
      expect(Number((await again.stores.db("onetime_keys").count<{ count: string | number }[]>("* as count"))[0]!.count)).toBe(2);
    } finally {
      await again.close();
    }
  });

  it("refuses a different HMAC_KEY, naming it, and changes nothing", async () => {
    backend = await backends[name]!();
    const keys = { ENCRYPTION_KEYS: `k1:${key()}`, HMAC_KEY: key() };
    const first = await start(backend, keys);
    await first.stores.totpSecrets.enrol(consumer, "sealed", "k1");
    const before = await snapshot(first);
    await first.close();

    const refused = await refusal(backend, { ...keys, HMAC_KEY: key() });
    expect(refused.message).toMatch(/^HMAC_KEY is not the key this database's TOTP enrolments are stored under/);
    expect(refused.message).toContain("Set HMAC_KEY back to the key in use before");
    expect(refused.message).toContain("Nothing was changed.");
    // Never the key itself, old or new.
    expect(refused.message).not.toContain(keys.HMAC_KEY);

    const after = await start(backend, keys);
    try {
      expect(await snapshot(after)).toEqual(before);
      expect(await after.stores.totpSecrets.find(consumer)).not.toBeNull();
    } finally {
      await after.close();
    }
  });

  it("refuses a new first ENCRYPTION_KEYS key while HMAC_KEY is unset; HMAC_KEY set to the previous key then starts", async () => {
    backend = await backends[name]!();
    const previous = key();
    const first = await start(backend, { ENCRYPTION_KEYS: `k1:${previous}` });
    await first.stores.totpSecrets.enrol(consumer, "sealed", "k1");
    const before = await snapshot(first);
    await first.close();

    // The rotation as docs/security.md describes it for encryption, without HMAC_KEY.
    const rotated = `k2:${key()},k1:${previous}`;
    const refused = await refusal(backend, { ENCRYPTION_KEYS: rotated });
    expect(refused.message).toMatch(/^HMAC_KEY is unset, so keyed hashes derive from the first ENCRYPTION_KEYS key \("k2"\)/);
    expect(refused.message).toContain("Set HMAC_KEY to the previous first ENCRYPTION_KEYS key's base64");
    expect(refused.message).not.toContain(previous);

    // HMAC_KEY set for the first time, to anything but the key used so far: refused too.
    const fresh = await refusal(backend, { ENCRYPTION_KEYS: `k1:${previous}`, HMAC_KEY: key() });
    expect(fresh.message).toContain("If HMAC_KEY is being set for the first time");

    // What the message says to do: the rotation keeps its new first key, and nothing is lost.
    const fixed = await start(backend, { ENCRYPTION_KEYS: rotated, HMAC_KEY: previous });
    try {
      expect(await snapshot(fixed)).toEqual(before);
      expect(await fixed.stores.totpSecrets.find(consumer)).toMatchObject({ sealedSecret: "sealed" });
    } finally {
      await fixed.close();
    }
  });
});

describe("a lost development key on PGlite", () => {
  it("refuses the start, naming the key file, rather than serving every enrolment as not enrolled", async () => {
    const backend = await backends.pglite!();
    try {
      // Neither key configured: the embedded defaults generate one beside DATA_DIR.
      const first = await start(backend, {});
      await first.stores.totpSecrets.enrol(consumer, "sealed", "dev");
      await first.close();
      const keyFile = developmentKeyFile(backend.env.DATA_DIR!);
      await rm(keyFile);

      const refused = await refusal(backend, {});
      expect(refused.message).toContain(`HMAC_KEY and ENCRYPTION_KEYS are unset, so keyed hashes derive from the generated development key in ${keyFile}`);
      expect(refused.message).toContain("Restore the key file that was there before");
    } finally {
      await backend.cleanUp();
    }
  });
});

describe("npm start on a changed key", () => {
  const run = promisify(execFile);
  let cleanUp: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await cleanUp?.();
    cleanUp = undefined;
  });

  /** main.ts as `npm start` runs it; resolves with the exit status and stderr. */
  async function main(env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
    const childEnv: NodeJS.ProcessEnv = { ...process.env, NODE_ENV: "test", PORT: "0", HOST: "127.0.0.1", METRICS_PORT: "0", AUTH_JWT_SECRET: testJwtSecret, ...env };
    for (const name of ["DATABASE_URL", "REDIS_URL", "HMAC_KEY", "ENCRYPTION_KEYS"]) if (!(name in env)) delete childEnv[name];
    return run(process.execPath, ["--import", "tsx", "src/main.ts"], { env: childEnv, timeout: 30_000 }).then(
      ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
      (error: { code: number; stdout: string; stderr: string }) => error,
    );
  }

  it("exits with status 2 and the message, no stack trace", async () => {
    const backend = await backends.pglite!();
    cleanUp = backend.cleanUp;
    const keys = { ENCRYPTION_KEYS: `k1:${key()}`, HMAC_KEY: key() };
    const first = await start(backend, keys);
    await first.close();

    const { code, stderr } = await main({ ...backend.env, ...keys, HMAC_KEY: key() });
    expect(code).toBe(2);
    expect(stderr).toContain("onetime: refused to start: HMAC_KEY is not the key this database's TOTP enrolments are stored under");
    expect(stderr).not.toMatch(/^\s+at /m);
  }, 60_000);

  it("stops the whole process with several workers instead of forking them again", async () => {
    const schema = uniqueSchema("key_change_workers");
    cleanUp = () => dropSchema(schema);
    const backend: Backend = { env: { DATABASE_URL: testDatabaseUrl(), DATABASE_SCHEMA: schema, DISABLED_CHANNELS: "email,sms,push" }, cleanUp: async () => {} };
    const keys = { ENCRYPTION_KEYS: `k1:${key()}`, HMAC_KEY: key() };
    const first = await start(backend, keys);
    await first.close();

    const { code, stdout, stderr } = await main({
      ...backend.env,
      REDIS_URL: testRedisUrl(),
      REDIS_KEY_PREFIX: uniqueTestPrefix("key_change"),
      WORKERS: "2",
      ...keys,
      HMAC_KEY: key(),
    });
    expect(code).toBe(2);
    expect(stderr).toContain("refused to start: HMAC_KEY is not the key");
    expect(stdout).toContain("a worker refused to start; stopping");
    expect(stdout).not.toContain("worker died; starting another");
  }, 60_000);
});
