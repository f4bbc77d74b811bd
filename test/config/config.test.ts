import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { availableParallelism } from "node:os";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { configHelp, loadConfig } from "../../src/config/config.js";
import { variables } from "../../src/config/variables.js";
import { problemsOf } from "../support/configProblems.js";

/** Real stores need every kind of message given a provider, the console by name, or none. */
const noChannels = { DISABLED_CHANNELS: "email,sms,push" };


describe("configuration", () => {
  it("runs on embedded defaults with nothing set", () => {
    const config = loadConfig({});
    expect(config.listen).toEqual({ host: "0.0.0.0", port: 8080, idleTimeoutMs: 60_000, maxConcurrentStreams: 100, maxConnections: 1000 });
    expect(config.database).toEqual({ kind: "pglite", dataDir: "./.onetime/pgdata", schema: "public" });
    expect(config.shortLivedStore).toEqual({ kind: "memory" });
    expect(config.auth.mode).toBe("development");
  });

  it("serves metrics on 127.0.0.1:9464 by default, apart from the API port; METRICS_PORT=off serves none", () => {
    expect(loadConfig({}).metrics).toEqual({ host: "127.0.0.1", port: 9464 });
    expect(loadConfig({ HOST: "0.0.0.0", METRICS_HOST: "10.0.0.5", METRICS_PORT: "9100" }).metrics).toEqual({ host: "10.0.0.5", port: 9100 });
    expect(loadConfig({ METRICS_PORT: "off" }).metrics).toBeUndefined();
    expect(problemsOf({ METRICS_PORT: "none" })[0]).toMatch(/^METRICS_PORT: must be "off" or a port from 0 to 65535/);
    expect(problemsOf({ METRICS_PORT: "70000" })[0]).toMatch(/^METRICS_PORT:/);
    expect(problemsOf({ PORT: "9000", METRICS_PORT: "9000" })).toEqual(["METRICS_PORT: must differ from PORT (the API port never serves metrics)"]);
    // Two free ports, picked apart.
    expect(loadConfig({ PORT: "0", METRICS_PORT: "0" }).metrics).toEqual({ host: "127.0.0.1", port: 0 });
  });

  it("reads the trace sampler and its ratio, and refuses a ratio outside 0 to 1", () => {
    const traced = { OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318" };
    expect(loadConfig(traced).tracing.sampler).toEqual({ name: "parentbased_always_on", ratio: 1 });
    expect(loadConfig({ ...traced, OTEL_TRACES_SAMPLER: "traceidratio", OTEL_TRACES_SAMPLER_ARG: "0.25" }).tracing.sampler).toEqual({ name: "traceidratio", ratio: 0.25 });
    expect(problemsOf({ ...traced, OTEL_TRACES_SAMPLER_ARG: "1.5" })[0]).toMatch(/^OTEL_TRACES_SAMPLER_ARG:/);
    expect(problemsOf({ ...traced, OTEL_TRACES_SAMPLER: "sometimes" })[0]).toMatch(/^OTEL_TRACES_SAMPLER:/);
    // Recording nothing whatever the caller says is the same as off, which loads no SDK.
    expect(loadConfig({ ...traced, OTEL_TRACES_SAMPLER: "always_off" }).tracing.enabled).toBe(false);
    expect(loadConfig({ ...traced, OTEL_TRACES_SAMPLER: "parentbased_always_off" }).tracing.enabled).toBe(true);
  });

  it("reads the span batch's OTEL_BSP_* settings, with the specification's defaults", () => {
    const traced = { OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318" };
    expect(loadConfig(traced).tracing.batch).toEqual({ scheduledDelayMillis: 5000, maxQueueSize: 2048, maxExportBatchSize: 512, exportTimeoutMillis: 30000 });
    expect(loadConfig({ ...traced, OTEL_BSP_MAX_QUEUE_SIZE: "16384", OTEL_BSP_SCHEDULE_DELAY: "1000" }).tracing.batch).toMatchObject({ maxQueueSize: 16384, scheduledDelayMillis: 1000 });
    expect(problemsOf({ ...traced, OTEL_BSP_MAX_QUEUE_SIZE: "100" })[0]).toMatch(/^OTEL_BSP_MAX_EXPORT_BATCH_SIZE: must not exceed OTEL_BSP_MAX_QUEUE_SIZE/);
    expect(problemsOf({ ...traced, OTEL_BSP_EXPORT_TIMEOUT: "soon" })[0]).toMatch(/^OTEL_BSP_EXPORT_TIMEOUT:/);
  });

  it("reads TRUSTED_PROXIES as subnets, a bare address as a /32 or /128, an IPv4-mapped one as IPv4; none by default", () => {
    expect(loadConfig({}).clientAddress).toEqual({ trustedProxies: [], ipv6PrefixLength: 64 });
    expect(loadConfig({ TRUSTED_PROXIES: "10.0.0.0/8, 192.0.2.7,2001:DB8::/32, ::1, ::ffff:172.16.0.0/108" }).clientAddress.trustedProxies).toEqual([
      { address: "10.0.0.0", prefix: 8, family: "ipv4" },
      { address: "192.0.2.7", prefix: 32, family: "ipv4" },
      { address: "2001:db8::", prefix: 32, family: "ipv6" },
      { address: "::1", prefix: 128, family: "ipv6" },
      { address: "172.16.0.0", prefix: 12, family: "ipv4" },
    ]);
  });

  it("names each bad TRUSTED_PROXIES entry", () => {
    const problems = problemsOf({ TRUSTED_PROXIES: "10.0.0.0/8, 10.0.0.0/33, proxy.internal, 2001:db8::/129, ::ffff:10.0.0.0/64" });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^TRUSTED_PROXIES: /);
    expect(problems[0]).toContain('"10.0.0.0/33": the prefix must be a whole number from 0 to 32');
    expect(problems[0]).toContain('"proxy.internal" is not an IPv4 or IPv6 address or subnet');
    expect(problems[0]).toContain('"2001:db8::/129": the prefix must be a whole number from 0 to 128');
    expect(problems[0]).toContain('"::ffff:10.0.0.0/64": an IPv4-mapped subnet needs a prefix of 96 or more');
    expect(problems[0]).not.toContain('"10.0.0.0/8"');
  });

  it("refuses TRUST_PROXY_HOPS, which believed any caller's X-Forwarded-For, and points at TRUSTED_PROXIES", () => {
    for (const hops of ["1", "0"]) {
      expect(problemsOf({ TRUST_PROXY_HOPS: hops })).toEqual([
        "TRUST_PROXY_HOPS: removed; unset it and list your proxies' addresses or subnets in TRUSTED_PROXIES instead (e.g. TRUSTED_PROXIES=10.0.0.0/8)",
      ]);
    }
    expect(Object.keys(variables)).not.toContain("TRUST_PROXY_HOPS");
  });

  it("reads CLIENT_IPV6_PREFIX_LENGTH from 32 to 128", () => {
    expect(loadConfig({ CLIENT_IPV6_PREFIX_LENGTH: "56" }).clientAddress.ipv6PrefixLength).toBe(56);
    expect(loadConfig({ CLIENT_IPV6_PREFIX_LENGTH: "128" }).clientAddress.ipv6PrefixLength).toBe(128);
    for (const length of ["31", "129", "/64"]) expect(problemsOf({ CLIENT_IPV6_PREFIX_LENGTH: length })[0]).toMatch(/^CLIENT_IPV6_PREFIX_LENGTH:/);
  });

  it("runs one worker per core on real stores, and one on the embedded ones", () => {
    const real = { ...noChannels, DATABASE_URL: "postgres://db/x", REDIS_URL: "redis://cache", AUTH_JWT_SECRET: "s".repeat(32), ENCRYPTION_KEYS: `k1:${Buffer.alloc(32).toString("base64")}` };
    expect(loadConfig(real).workers).toBe(availableParallelism());
    expect(loadConfig({ ...real, WORKERS: "3" }).workers).toBe(3);
    expect(loadConfig({ WORKERS: "4" }).workers).toBe(1);
    expect(problemsOf({ WORKERS: "many" })[0]).toMatch(/^WORKERS:/);
  });

  it("uses real stores and a shared secret when given", () => {
    const config = loadConfig({
      ...noChannels,
      PORT: "9000",
      DATABASE_URL: "postgres://postgres@db:5432/onetime",
      REDIS_URL: "redis://cache:6379",
      AUTH_JWT_SECRET: "s".repeat(32),
      ENCRYPTION_KEYS: `k1:${Buffer.alloc(32).toString("base64")}`,
      CORS_ORIGINS: "https://a.example, http://localhost:5173",
    });
    expect(config.listen.port).toBe(9000);
    expect(config.database.kind).toBe("postgres");
    expect(config.shortLivedStore).toEqual({ kind: "redis", urls: ["redis://cache:6379"], cluster: false, keyPrefix: "onetime:", secretShards: 16, timeoutMs: 2000 });
    expect(config.auth.mode).toBe("secret");
    expect(config.corsOrigins).toEqual(["https://a.example", "http://localhost:5173"]);
  });

  it("takes a Redis Cluster as several node URLs with REDIS_CLUSTER=true, and refuses a list without it", () => {
    const real = { ...noChannels, DATABASE_URL: "postgres://postgres@db:5432/onetime", AUTH_JWT_SECRET: "s".repeat(32), ENCRYPTION_KEYS: `k1:${Buffer.alloc(32).toString("base64")}` };
    const config = loadConfig({ ...real, REDIS_URL: "redis://a:7000, redis://b:7001", REDIS_CLUSTER: "true" });
    expect(config.shortLivedStore).toEqual({ kind: "redis", urls: ["redis://a:7000", "redis://b:7001"], cluster: true, keyPrefix: "onetime:", secretShards: 16, timeoutMs: 2000 });
    expect(problemsOf({ ...real, REDIS_URL: "redis://a:7000,redis://b:7001" })).toEqual([
      "REDIS_URL: several URLs name the nodes of a Redis Cluster; set REDIS_CLUSTER=true, or give one URL",
    ]);
    expect(problemsOf({ ...real, REDIS_URL: "redis://a:7000,http://b" }).join("\n")).toMatch(/^REDIS_URL: .*redis:\/\/host:6379/);
    expect(problemsOf({ ...real, REDIS_CLUSTER: "true" })).toContain(
      "REDIS_CLUSTER: needs REDIS_URL naming at least one node of the cluster",
    );
  });

  it("names every bad variable at once, with the value given", () => {
    const problems = problemsOf({
      PORT: "eighty",
      DATABASE_URL: "mysql://db/x",
      REDIS_URL: "not a url",
      MAX_REQUEST_BYTES: "-1",
      LOG_LEVEL: "loud",
      CORS_ORIGINS: "https://ok.example,https://bad.example/path",
      AUTH_JWT_SECRET: "short",
    });
    const named = problems.map((problem) => problem.split(":")[0]);
    expect(named).toEqual(
      expect.arrayContaining(["PORT", "DATABASE_URL", "REDIS_URL", "MAX_REQUEST_BYTES", "LOG_LEVEL", "CORS_ORIGINS", "AUTH_JWT_SECRET"]),
    );
    expect(problems.find((problem) => problem.startsWith("PORT"))).toContain('"eighty"');
    // A secret is never echoed, even a wrong one.
    expect(problems.join("\n")).not.toContain("short");
  });

  it("says what WORKERS accepts", () => {
    for (const workers of ["-1", "0", "many"]) {
      expect(problemsOf({ WORKERS: workers })).toEqual([`WORKERS: must be "auto" or a whole number from 1 to 256 (got "${workers}")`]);
    }
  });

  it("refuses development-only modes in production", () => {
    expect(problemsOf({ NODE_ENV: "production" })).toEqual([
      "DATABASE_URL and REDIS_URL: required when NODE_ENV=production",
      "AUTH_JWT_SECRET or AUTH_JWKS_URL: required when NODE_ENV=production",
      "ENCRYPTION_KEYS: required with DATABASE_URL, REDIS_URL or NODE_ENV=production (a generated key is only for the embedded defaults)",
      "HMAC_KEY: required when NODE_ENV=production (so ENCRYPTION_KEYS can rotate; upgrading, set it to the base64 of the current first ENCRYPTION_KEYS key)",
    ]);
    const real = {
      ...noChannels,
      NODE_ENV: "production",
      DATABASE_URL: "postgres://db/x",
      REDIS_URL: "redis://cache",
      ENCRYPTION_KEYS: `k1:${Buffer.alloc(32).toString("base64")}`,
      HMAC_KEY: Buffer.alloc(32, 1).toString("base64"),
    };
    expect(problemsOf({ ...real, AUTH_JWKS_URL: "http://idp.example/jwks.json" })[0]).toMatch(/^AUTH_JWKS_URL: must be https/);
    expect(loadConfig({ ...real, AUTH_JWKS_URL: "https://idp.example/jwks.json" }).auth.mode).toBe("jwks");
  });

  it("requires HMAC_KEY in production, listed with the other refused settings, so rotating ENCRYPTION_KEYS cannot rename TOTP rows", () => {
    const production = {
      ...noChannels,
      NODE_ENV: "production",
      DATABASE_URL: "postgres://db/x",
      REDIS_URL: "redis://cache",
      AUTH_JWT_SECRET: "s".repeat(32),
      ENCRYPTION_KEYS: `k1:${Buffer.alloc(32).toString("base64")}`,
    };
    const problems = problemsOf(production);
    expect(problems).toEqual([expect.stringMatching(/^HMAC_KEY: required when NODE_ENV=production/)]);
    // Like every key, never echoed.
    expect(problemsOf({ ...production, HMAC_KEY: "not-base64!" }).join("\n")).not.toContain("not-base64!");
    const hmacKey = Buffer.alloc(32, 1).toString("base64");
    expect(loadConfig({ ...production, HMAC_KEY: hmacKey }).delivery.hmacKey).toBe(hmacKey);
    // Outside production it stays optional: the key guard catches a changed key at start instead.
    expect(loadConfig({ ...production, NODE_ENV: "development" }).delivery.hmacKey).toBeUndefined();
  });

  it("never echoes a password inside a URL, and refuses a blank port", () => {
    const problems = problemsOf({ DATABASE_URL: "mysql://app:S3cretPass@db/x", PORT: " " });
    expect(problems.join("\n")).not.toContain("S3cretPass");
    expect(problems.join("\n")).toContain("mysql://***@db/x");
    expect(problems.some((problem) => problem.startsWith("PORT:"))).toBe(true);
  });

  it("refuses the development secret next to real stores", () => {
    const problems = problemsOf({ REDIS_URL: "redis://127.0.0.1:6379" });
    expect(problems[0]).toMatch(/^AUTH_JWT_SECRET or AUTH_JWKS_URL: required with/);
    expect(problems[1]).toMatch(/^ENCRYPTION_KEYS: required with/);
  });

  it("refuses half a TLS setup and two key sources", () => {
    expect(problemsOf({ TLS_CERT_FILE: "cert.pem", AUTH_JWT_SECRET: "s".repeat(32) })).toEqual([
      "TLS_CERT_FILE and TLS_KEY_FILE: set both or neither",
    ]);
    expect(
      problemsOf({ AUTH_JWT_SECRET: "s".repeat(32), AUTH_JWKS_URL: "https://idp.example/jwks.json" }),
    ).toEqual(["AUTH_JWT_SECRET and AUTH_JWKS_URL: set one, not both"]);
  });

  it("names what a configured provider is missing", () => {
    expect(problemsOf({ SMTP_URL: "smtp://mail.example:587" })).toEqual(["SMTP_FROM: required with SMTP_URL"]);
    expect(problemsOf({ SMS_PROVIDER: "twilio", TWILIO_ACCOUNT_SID: "AC1" })).toEqual(["TWILIO_AUTH_TOKEN: required with SMS_PROVIDER=twilio"]);
    expect(problemsOf({ SMS_PROVIDER: "webhook", SMS_WEBHOOK_URL: "https://sms.example", SMS_WEBHOOK_BODY_TEMPLATE: "{}", SMS_WEBHOOK_HEADERS: "[1]" })[0]).toMatch(
      /^SMS_WEBHOOK_HEADERS: must be a JSON object/,
    );
    expect(problemsOf({ APNS_KEY_FILE: "key.p8" })).toEqual(["APNS_KEY_ID, APNS_TEAM_ID, APNS_TOPIC, APNS_ALLOWED_TOPICS: required with APNS_KEY_FILE"]);
  });

  it("reads what a CAPTCHA answer must also say, and refuses those checks without a provider", () => {
    const provider = { CAPTCHA_PROVIDER: "recaptcha", CAPTCHA_SECRET: "s" } as const;
    const checked = loadConfig({ ...provider, CAPTCHA_HOSTNAMES: "Signup.example.com, app.example.com", CAPTCHA_ACTION: "account_creation", CAPTCHA_MIN_SCORE: "0.5" });
    expect(checked.accountTokens.captcha).toMatchObject({ expect: { hostnames: ["signup.example.com", "app.example.com"], action: "account_creation", minScore: 0.5 } });
    expect(loadConfig(provider).accountTokens.captcha).toMatchObject({ expect: { hostnames: [] } });
    expect(problemsOf({ ...provider, CAPTCHA_MIN_SCORE: "2" })[0]).toMatch(/^CAPTCHA_MIN_SCORE:/);
    expect(problemsOf({ ...provider, CAPTCHA_HOSTNAMES: "https://example.com/" })[0]).toMatch(/^CAPTCHA_HOSTNAMES:/);
    // Checks on fields the provider never sends would refuse every answer.
    expect(problemsOf({ CAPTCHA_PROVIDER: "hcaptcha", CAPTCHA_SECRET: "s", CAPTCHA_ACTION: "signup" })).toEqual(["CAPTCHA_ACTION: hCaptcha's answers carry no action; unset it"]);
    expect(problemsOf({ CAPTCHA_PROVIDER: "turnstile", CAPTCHA_SECRET: "s", CAPTCHA_MIN_SCORE: "0.5" })).toEqual(["CAPTCHA_MIN_SCORE: Turnstile's answers carry no score; unset it"]);
    expect(problemsOf({ CAPTCHA_HOSTNAMES: "example.com", CAPTCHA_MIN_SCORE: "0.5" })).toEqual([
      "CAPTCHA_MIN_SCORE: checks a provider's answer; set CAPTCHA_PROVIDER too",
      "CAPTCHA_HOSTNAMES: checks a provider's answer; set CAPTCHA_PROVIDER too",
    ]);
  });

  it("asks public TokenService callers for a CAPTCHA only with TOKEN_PUBLIC_CAPTCHA=true, and refuses it without a CAPTCHA to ask", () => {
    expect(loadConfig({}).tokens.publicCaptcha).toBe(false);
    // On the embedded defaults, development's CAPTCHA (dev-captcha-ok) is the one asked.
    expect(loadConfig({ TOKEN_PUBLIC_CAPTCHA: "true", TOKEN_PUBLIC_REQUESTS: "true" })).toMatchObject({ tokens: { publicCaptcha: true }, accountTokens: { captcha: { provider: "development" } } });
    const production = {
      ...noChannels,
      NODE_ENV: "production",
      DATABASE_URL: "postgres://db/x",
      REDIS_URL: "redis://cache",
      AUTH_JWT_SECRET: "s".repeat(32),
      ENCRYPTION_KEYS: `k1:${Buffer.alloc(32).toString("base64")}`,
      HMAC_KEY: Buffer.alloc(32, 1).toString("base64"),
      TOKEN_PUBLIC_REQUESTS: "true",
      TOKEN_PUBLIC_CAPTCHA: "true",
    };
    expect(problemsOf(production)).toEqual([expect.stringMatching(/^TOKEN_PUBLIC_CAPTCHA: needs CAPTCHA_PROVIDER/)]);
    expect(loadConfig({ ...production, CAPTCHA_PROVIDER: "turnstile", CAPTCHA_SECRET: "s" }).tokens.publicCaptcha).toBe(true);
    // A provider without its secret is named once, as that.
    expect(problemsOf({ ...production, CAPTCHA_PROVIDER: "turnstile" })).toEqual(["CAPTCHA_SECRET: required with CAPTCHA_PROVIDER"]);
    expect(problemsOf({ TOKEN_PUBLIC_CAPTCHA: "yes" })[0]).toMatch(/^TOKEN_PUBLIC_CAPTCHA:/);
  });

  it("lists every variable with its default in --help", () => {
    const help = configHelp();
    for (const name of Object.keys(variables)) expect(help).toContain(name);
    expect(help).toMatch(/PORT\s+"8080"/);
  });

  it("documents every variable, with its default, in docs/configuration.md", async () => {
    const page = await readFile(new URL("../../docs/configuration.md", import.meta.url), "utf8");
    for (const [name, spec] of Object.entries(variables)) {
      const row = page.split("\n").find((line) => line.startsWith(`| \`${name}\` |`));
      expect(row, name).toBeDefined();
      const shown = "default" in spec ? (spec.default === "" ? "(empty)" : `\`${spec.default}\``) : "unset";
      expect(row, name).toContain(`| ${shown} |`);
    }
  });
});

describe("the start command", () => {
  const run = promisify(execFile);

  it("prints the variables for --help", async () => {
    const { stdout } = await run("npm", ["start", "--silent", "--", "--help"]);
    expect(stdout).toContain("DATABASE_URL");
    expect(stdout).toContain("REDIS_URL");
  });

  it("exits with status 2 and the problem named on bad configuration", async () => {
    const failed = await run("npm", ["start", "--silent"], { env: { ...process.env, PORT: "99999" } }).then(
      () => undefined,
      (error: { code: number; stderr: string }) => error,
    );
    expect(failed?.code).toBe(2);
    expect(failed?.stderr).toContain("PORT:");
    expect(failed?.stderr).toContain('"99999"');
  });

  it("answers an unknown flag with one line naming it, not a stack trace, and status 2", async () => {
    const failed = await run("npm", ["start", "--silent", "--", "--foo"]).then(
      () => undefined,
      (error: { code: number; stderr: string }) => error,
    );
    expect(failed?.code).toBe(2);
    expect(failed?.stderr.trim()).toBe("onetime: Unknown option '--foo'. The only option is --help; settings are environment variables (--help lists them).");
  });
});
