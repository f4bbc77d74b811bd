import { spawn } from "node:child_process";
import { setTimeout as sleep } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/config.js";
import { problemsOf } from "../support/configProblems.js";
import { testDatabaseUrl } from "../support/postgres.js";
import { testRedisUrl } from "../support/redis.js";
import { testEncryptionKeys, testJwtSecret } from "../support/tokens.js";

/** Real stores and their secrets, NODE_ENV unset: the deployment the issue found printing codes. */
const real = { DATABASE_URL: "postgres://db/x", REDIS_URL: "redis://cache", AUTH_JWT_SECRET: "s".repeat(32), ENCRYPTION_KEYS: testEncryptionKeys };
const production = { ...real, NODE_ENV: "production", HMAC_KEY: Buffer.alloc(32, 1).toString("base64") };
const apns = { APNS_KEY_FILE: "key.p8", APNS_KEY_ID: "KEY1234567", APNS_TEAM_ID: "TEAM123456", APNS_TOPIC: "org.example.app" };

describe("development conveniences on real stores", () => {
  it("refuses the start when a kind of message has no provider, naming the variable, instead of printing it to stderr", () => {
    expect(problemsOf(real)).toEqual([
      "SMTP_URL: required with DATABASE_URL or REDIS_URL, or name email in CONSOLE_CHANNELS to print its messages to stderr, or in DISABLED_CHANNELS to send none",
      "SMS_PROVIDER: required with DATABASE_URL or REDIS_URL, or name sms in CONSOLE_CHANNELS to print its messages to stderr, or in DISABLED_CHANNELS to send none",
      "APNS_KEY_FILE or FCM_SERVICE_ACCOUNT_FILE: required with DATABASE_URL or REDIS_URL, or name push in CONSOLE_CHANNELS to print its messages to stderr, or in DISABLED_CHANNELS to send none",
    ]);
    // One store is enough to make it a deployment.
    expect(problemsOf({ ...real, DATABASE_URL: "" }).map((problem) => problem.split(":")[0])).toEqual(["SMTP_URL", "SMS_PROVIDER", "APNS_KEY_FILE or FCM_SERVICE_ACCOUNT_FILE"]);
    // Production is never offered the console.
    expect(problemsOf(production)[0]).toBe("SMTP_URL: required with DATABASE_URL or REDIS_URL, or name email in DISABLED_CHANNELS to send none");
  });

  it("prints only the kinds CONSOLE_CHANNELS names, sends none of those DISABLED_CHANNELS names, and refuses contradictions", () => {
    const config = loadConfig({ ...real, SMTP_URL: "smtp://mail.example:587", SMTP_FROM: "a@example.com", CONSOLE_CHANNELS: "sms", DISABLED_CHANNELS: "push" });
    expect(config.delivery.consoleChannels).toEqual(["sms"]);
    expect(problemsOf({ ...real, CONSOLE_CHANNELS: "email,sms", DISABLED_CHANNELS: "sms,push" })).toEqual(["CONSOLE_CHANNELS and DISABLED_CHANNELS: sms is in both; keep it in one"]);
    expect(problemsOf({ ...real, SMTP_URL: "smtp://mail.example:587", SMTP_FROM: "a@example.com", CONSOLE_CHANNELS: "email,sms,push" })).toEqual([
      "CONSOLE_CHANNELS: email has a provider (SMTP_URL); remove one or the other",
    ]);
    expect(problemsOf({ ...real, DISABLED_CHANNELS: "email,sms,fax" })[0]).toMatch(/^DISABLED_CHANNELS: each must be email, sms or push/);
    expect(problemsOf({ ...production, CONSOLE_CHANNELS: "email", DISABLED_CHANNELS: "sms,push" })).toEqual([
      "CONSOLE_CHANNELS: prints whole messages, codes included, to stderr; not with NODE_ENV=production",
    ]);
  });

  it("keeps the embedded backends' console for every kind without a provider, as npm start on a bare machine promises", () => {
    expect(loadConfig({}).delivery.consoleChannels).toEqual(["email", "sms", "push"]);
    expect(loadConfig({ SMTP_URL: "smtp://mail.example:587", SMTP_FROM: "a@example.com", DISABLED_CHANNELS: "push" }).delivery.consoleChannels).toEqual(["sms"]);
  });

  it("accepts dev-captcha-ok on real stores only with CAPTCHA_PROVIDER=development, never in production", () => {
    const allSent = { ...real, CONSOLE_CHANNELS: "email,sms,push" };
    // Unset on real stores: no CAPTCHA, so validation is refused (CAPTCHA_NOT_CONFIGURED) rather than passed.
    expect(loadConfig(allSent).accountTokens.captcha).toBeUndefined();
    expect(loadConfig({ ...allSent, CAPTCHA_PROVIDER: "development" }).accountTokens.captcha).toEqual({ provider: "development" });
    expect(loadConfig({}).accountTokens.captcha).toEqual({ provider: "development" });
    expect(problemsOf({ ...production, DISABLED_CHANNELS: "email,sms,push", CAPTCHA_PROVIDER: "development" })).toEqual([
      "CAPTCHA_PROVIDER: development accepts dev-captcha-ok from anyone; not with NODE_ENV=production",
    ]);
    expect(problemsOf({ ...allSent, CAPTCHA_PROVIDER: "development", CAPTCHA_ACTION: "signup" })).toEqual(["CAPTCHA_ACTION: checks a provider's answer; set CAPTCHA_PROVIDER too"]);
    expect(problemsOf({ ...allSent, TOKEN_PUBLIC_REQUESTS: "true", TOKEN_PUBLIC_CAPTCHA: "true" })).toEqual([expect.stringMatching(/^TOKEN_PUBLIC_CAPTCHA: needs CAPTCHA_PROVIDER/)]);
  });
});

describe("APNs topics a caller may name", () => {
  it("requires APNS_ALLOWED_TOPICS with APNs, a list or none, and refuses it without APNs", () => {
    expect(problemsOf(apns)).toEqual(["APNS_ALLOWED_TOPICS: required with APNS_KEY_FILE"]);
    expect(loadConfig({ ...apns, APNS_ALLOWED_TOPICS: "org.example.other, org.example.app.voip" }).delivery.apns?.allowedTopics).toEqual(["org.example.other", "org.example.app.voip"]);
    expect(loadConfig({ ...apns, APNS_ALLOWED_TOPICS: "none" }).delivery.apns?.allowedTopics).toEqual([]);
    expect(problemsOf({ ...apns, APNS_ALLOWED_TOPICS: "none,org.example.other" })[0]).toMatch(/^APNS_ALLOWED_TOPICS: none stands alone/);
    expect(problemsOf({ ...apns, APNS_ALLOWED_TOPICS: "org.example-app" })[0]).toMatch(/^APNS_ALLOWED_TOPICS: each must be a bundle id/);
    expect(problemsOf({ APNS_ALLOWED_TOPICS: "org.example.other" })).toEqual(["APNS_ALLOWED_TOPICS: lists topics for APNs; set APNS_KEY_FILE too"]);
  });
});

describe("npm start on real stores", () => {
  it("exits with status 2 naming SMTP_URL rather than print codes to stderr", async () => {
    const env: NodeJS.ProcessEnv = { ...process.env, PORT: "0", METRICS_PORT: "0", DATABASE_URL: testDatabaseUrl(), REDIS_URL: testRedisUrl(), AUTH_JWT_SECRET: testJwtSecret, ENCRYPTION_KEYS: testEncryptionKeys };
    for (const name of ["NODE_ENV", "SMTP_URL", "SMS_PROVIDER", "APNS_KEY_FILE", "FCM_SERVICE_ACCOUNT_FILE", "CONSOLE_CHANNELS", "DISABLED_CHANNELS"]) delete env[name];
    // Its own process group, so a start that is wrongly accepted is stopped with npm, not left serving.
    const child = spawn("npm", ["start", "--silent"], { env, detached: true, stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    try {
      expect(await Promise.race([exited, sleep(20_000, "still running" as const)])).toBe(2);
      expect(stderr).toContain("SMTP_URL: required with DATABASE_URL or REDIS_URL");
    } finally {
      if (child.exitCode === null) process.kill(-child.pid!, "SIGKILL");
    }
  }, 30_000);
});
