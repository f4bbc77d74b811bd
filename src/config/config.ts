import { availableParallelism } from "node:os";
import { z } from "zod";
import type { VerificationRules } from "../domain/verification/verificationService.js";
import type { TokenRules } from "../domain/profileTokens/tokenRules.js";
import type { TracingConfig } from "../observability/tracing.js";
import type { ClientAddressRules } from "../rpc/clientAddress.js";
import { accountTokenConfig, type AccountTokenConfig } from "./accountTokenConfig.js";
import { deliveryConfig, type DeliveryConfig } from "./deliveryConfig.js";
import { tokenConfig } from "./tokenConfig.js";
import { guessPools, trafficConfig } from "./trafficConfig.js";
import { retentionConfig } from "./retentionConfig.js";
import { sendLimitConfig } from "./sendLimitConfig.js";
import { testModeConfig, type TestModeConfig } from "./testModeConfig.js";
import type { RetentionRules } from "../retention/retentionPurge.js";
import type { TrafficRules } from "../domain/traffic/trafficRules.js";
import { variables, type RawEnvironment, type VariableName } from "./variables.js";

/** How callers' bearer JWTs are checked. */
export type AuthConfig = (
  | { readonly mode: "secret"; readonly secret: string; readonly claims: ClaimsConfig }
  | { readonly mode: "jwks"; readonly jwksUrl: URL; readonly claims: ClaimsConfig }
  /** Embedded default only: a secret made at start, with tokens printed for the developer. */
  | { readonly mode: "development"; readonly claims: ClaimsConfig }
) & {
  /** Verified tokens remembered; 0 verifies every call. */
  readonly tokenCacheSize: number;
};

export interface ClaimsConfig {
  readonly issuer: string;
  readonly audience: string;
  readonly rolesClaim: string;
  readonly serviceRole: string;
  readonly adminRole: string;
  /** Oldest a token may be, by its `iat`, whatever its `exp` says; absent: no limit. */
  readonly maxTokenAgeSeconds?: number;
}

export type DatabaseConfig =
  | { readonly kind: "postgres"; readonly url: string; readonly schema: string; readonly poolMax: number }
  | { readonly kind: "pglite"; readonly dataDir: string; readonly schema: string };

/** Where what lives for minutes is kept: pending secrets with their messages, send limits. */
export type ShortLivedStoreConfig =
  | {
      readonly kind: "redis";
      /** One Redis, or with `cluster` the nodes a Cluster client starts from. */
      readonly urls: readonly string[];
      readonly cluster: boolean;
      readonly keyPrefix: string;
      /** How many shards (hash tags) pending secrets and their queue are split into. */
      readonly secretShards: number;
      /** What one call's Redis commands may take in all, undo included; also each command's own timeout. */
      readonly timeoutMs: number;
    }
  | { readonly kind: "memory" };

export interface Config {
  readonly environment: "development" | "production" | "test";
  /** Processes serving the port; 1 on the embedded backends. */
  readonly workers: number;
  readonly listen: {
    readonly host: string;
    readonly port: number;
    readonly idleTimeoutMs: number;
    readonly maxConcurrentStreams: number;
    readonly maxConnections: number;
  };
  /** Server-streaming calls: how many one connection and one process may hold, and for how long each. */
  readonly watchStreams: { readonly perConnection: number; readonly perProcess: number; readonly lifetimeMs: number };
  /** Who the caller is: which peers' X-Forwarded-For is believed, and how IPv6 callers are counted. */
  readonly clientAddress: ClientAddressRules;
  /**
   * Where Prometheus metrics are served: a listener of their own, never the API port, since a
   * metric that moves for a known address and not for an unknown one tells them apart. Absent
   * with METRICS_PORT=off. With several workers the primary serves every worker's, summed.
   */
  readonly metrics?: { readonly host: string; readonly port: number };
  readonly shutdownDrainDelayMs: number;
  readonly tls?: { readonly certFile: string; readonly keyFile: string };
  readonly corsOrigins: readonly string[];
  readonly limits: { readonly maxRequestBytes: number; readonly maxResponseBytes: number };
  readonly shutdownTimeoutMs: number;
  readonly logLevel: string;
  /** OpenTelemetry traces over OTLP/HTTP; the exporter reads its own `OTEL_EXPORTER_OTLP_*` (headers, timeout, compression). */
  readonly tracing: TracingConfig;
  readonly database: DatabaseConfig;
  readonly shortLivedStore: ShortLivedStoreConfig;
  readonly auth: AuthConfig;
  readonly delivery: DeliveryConfig;
  readonly verification: VerificationRules;
  readonly tokens: TokenRules;
  readonly accountTokens: AccountTokenConfig;
  /** What may be sent where: the SMS destination policy, traffic caps, spend and conversion. */
  readonly traffic: TrafficRules;
  /** How long each table's rows are kept, and how the purge removes them. */
  readonly retention: RetentionRules;
  /** Set only with TEST_MODE=true: which destinations' messages are kept instead of sent. */
  readonly testMode?: TestModeConfig;
}

/** Thrown with every problem found, so one start shows the user all of them at once. */
export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`invalid configuration:\n${problems.map((problem) => `  - ${problem}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

export type Parsed = { [K in VariableName]: z.output<(typeof variables)[K]["schema"]> | undefined };

function parseVariables(env: RawEnvironment, problems: string[], names = Object.keys(variables) as VariableName[]): Parsed {
  const parsed: Partial<Record<VariableName, unknown>> = {};
  for (const name of names) {
    const spec = variables[name];
    const given = env[name];
    const raw = given === undefined || given === "" ? ("default" in spec ? spec.default : undefined) : given;
    if (raw === undefined) continue;
    const result = spec.schema.safeParse(raw);
    if (result.success) {
      parsed[name] = result.data;
    } else {
      const reason = result.error.issues.map((issue) => issue.message).join("; ");
      problems.push(`${name}: ${reason}${echo(name, given)}`);
    }
  }
  return parsed as Parsed;
}

// Secrets are never echoed back, even when wrong, nor are passwords inside URLs.
function echo(name: string, given: string | undefined): string {
  if (given === undefined || /SECRET|KEYS?$|TOKEN|PASSWORD/.test(name)) return "";
  return ` (got ${JSON.stringify(given.replace(/\/\/([^/@\s]*)@/, "//***@"))})`;
}

const bearerTokenVariables = [
  "AUTH_JWT_SECRET",
  "AUTH_JWKS_URL",
  "AUTH_ISSUER",
  "AUTH_AUDIENCE",
  "AUTH_ROLES_CLAIM",
  "AUTH_SERVICE_ROLE",
  "AUTH_ADMIN_ROLE",
  "AUTH_MAX_TOKEN_AGE_SECONDS",
  "AUTH_TOKEN_CACHE_SIZE",
] as const satisfies readonly VariableName[];

/** How bearer tokens are checked (and, for `onetime token`, signed), from the AUTH_* variables alone. */
function authConfig(v: Parsed, problems: string[]): AuthConfig {
  if (v.AUTH_JWT_SECRET !== undefined && v.AUTH_JWKS_URL !== undefined) {
    problems.push("AUTH_JWT_SECRET and AUTH_JWKS_URL: set one, not both");
  }
  // Defaulted, or already reported as a problem: the assertions only restate that.
  const claims: ClaimsConfig = {
    issuer: v.AUTH_ISSUER!,
    audience: v.AUTH_AUDIENCE!,
    rolesClaim: v.AUTH_ROLES_CLAIM!,
    serviceRole: v.AUTH_SERVICE_ROLE!,
    adminRole: v.AUTH_ADMIN_ROLE!,
    ...(v.AUTH_MAX_TOKEN_AGE_SECONDS === undefined ? {} : { maxTokenAgeSeconds: v.AUTH_MAX_TOKEN_AGE_SECONDS }),
  };
  const tokenCacheSize = v.AUTH_TOKEN_CACHE_SIZE!;
  return v.AUTH_JWT_SECRET !== undefined
    ? { mode: "secret", secret: v.AUTH_JWT_SECRET, claims, tokenCacheSize }
    : v.AUTH_JWKS_URL !== undefined
      ? { mode: "jwks", jwksUrl: new URL(v.AUTH_JWKS_URL), claims, tokenCacheSize }
      : { mode: "development", claims, tokenCacheSize };
}

/** What signing a bearer token needs: the auth settings, and where the development secret would be. */
export interface TokenSigningConfig {
  readonly environment: Config["environment"];
  readonly auth: AuthConfig;
  /** The embedded PGlite directory, beside which `npm start` keeps the development secret; absent on real stores. */
  readonly embeddedDataDir?: string;
}

/**
 * The settings `onetime token` signs with, read by the same rules as the server's, but only
 * these: a shell holding a deployment's AUTH_* values can mint without the rest of its settings.
 * Throws {@link ConfigError} naming every bad one.
 */
export function loadTokenSigningConfig(env: RawEnvironment): TokenSigningConfig {
  const problems: string[] = [];
  const v = parseVariables(env, problems, [...bearerTokenVariables, "NODE_ENV", "DATABASE_URL", "REDIS_URL", "DATA_DIR"]);
  const auth = authConfig(v, problems);
  if (problems.length > 0) throw new ConfigError(problems);
  const embedded = v.DATABASE_URL === undefined && v.REDIS_URL === undefined;
  return { environment: v.NODE_ENV ?? "development", auth, ...(embedded ? { embeddedDataDir: v.DATA_DIR! } : {}) };
}

/** Reads and validates the whole configuration; throws {@link ConfigError} naming every bad variable. */
export function loadConfig(env: RawEnvironment): Config {
  const problems: string[] = [];
  const v = parseVariables(env, problems);
  const environment = v.NODE_ENV ?? "development";

  if (env.TRUST_PROXY_HOPS !== undefined && env.TRUST_PROXY_HOPS !== "") {
    // Refused, not ignored: hop counting believed whatever a caller that reached the port directly
    // wrote, and a deployment that still sets it has proxies that now need naming.
    problems.push("TRUST_PROXY_HOPS: removed; unset it and list your proxies' addresses or subnets in TRUSTED_PROXIES instead (e.g. TRUSTED_PROXIES=10.0.0.0/8)");
  }
  if ((v.TLS_CERT_FILE === undefined) !== (v.TLS_KEY_FILE === undefined)) {
    problems.push("TLS_CERT_FILE and TLS_KEY_FILE: set both or neither");
  }
  const auth = authConfig(v, problems);
  if (v.REDIS_URL !== undefined && v.REDIS_URL.length > 1 && v.REDIS_CLUSTER !== true) {
    problems.push("REDIS_URL: several URLs name the nodes of a Redis Cluster; set REDIS_CLUSTER=true, or give one URL");
  }
  if (v.REDIS_CLUSTER === true && v.REDIS_URL === undefined) {
    problems.push("REDIS_CLUSTER: needs REDIS_URL naming at least one node of the cluster");
  }
  const embedded = v.DATABASE_URL === undefined && v.REDIS_URL === undefined;
  if (environment === "production" && (v.DATABASE_URL === undefined || v.REDIS_URL === undefined)) {
    // The embedded stores live inside one process: they cannot be shared, and PGlite is for
    // development. Production runs on the real ones.
    problems.push("DATABASE_URL and REDIS_URL: required when NODE_ENV=production");
  }
  if (v.AUTH_JWKS_URL !== undefined && environment === "production" && !v.AUTH_JWKS_URL.startsWith("https:")) {
    problems.push("AUTH_JWKS_URL: must be https when NODE_ENV=production (whoever serves the keys can sign any token)");
  }
  const authConfigured = v.AUTH_JWT_SECRET !== undefined || v.AUTH_JWKS_URL !== undefined;
  if (!authConfigured && environment === "production") {
    problems.push("AUTH_JWT_SECRET or AUTH_JWKS_URL: required when NODE_ENV=production");
  } else if (!authConfigured && !embedded) {
    problems.push(
      "AUTH_JWT_SECRET or AUTH_JWKS_URL: required with DATABASE_URL or REDIS_URL (the generated development secret is only for the embedded defaults)",
    );
  }
  const delivery = deliveryConfig(v, environment === "production", embedded, problems);
  const accountTokens = accountTokenConfig(v, environment === "production", embedded, problems);
  const testMode = testModeConfig(v, environment === "production", problems);
  // The same CAPTCHA as AccountTokenService's. A provider named without its secret is reported
  // as that already.
  if (v.TOKEN_PUBLIC_CAPTCHA === true && v.TOKEN_PUBLIC_REQUESTS !== true) {
    // Only public callers are asked for an answer: without public requests it would do nothing.
    problems.push("TOKEN_PUBLIC_CAPTCHA: asks public callers for a CAPTCHA, and there are none unless TOKEN_PUBLIC_REQUESTS=true");
  }
  if (v.TOKEN_PUBLIC_CAPTCHA === true && accountTokens.captcha === undefined && v.CAPTCHA_PROVIDER === undefined) {
    problems.push("TOKEN_PUBLIC_CAPTCHA: needs CAPTCHA_PROVIDER and CAPTCHA_SECRET (only the embedded backends accept dev-captcha-ok without them)");
  }
  if (env.VERIFICATION_MAX_TTL_SECONDS !== undefined && env.VERIFICATION_MAX_TTL_SECONDS !== "") {
    // Refused, not ignored: its default let a caller ask for day-long codes, and a deployment that
    // still sets it expects a limit that now has another name and a NIST-sized default.
    problems.push("VERIFICATION_MAX_TTL_SECONDS: removed; unset it. OUT_OF_BAND_CODE_MAX_TTL_SECONDS (default 600) bounds every email and SMS code");
  }
  if (v.VERIFICATION_TTL_SECONDS! > v.OUT_OF_BAND_CODE_MAX_TTL_SECONDS!) {
    problems.push(`VERIFICATION_TTL_SECONDS: must not exceed OUT_OF_BAND_CODE_MAX_TTL_SECONDS (${v.OUT_OF_BAND_CODE_MAX_TTL_SECONDS})`);
  }
  if (typeof v.METRICS_PORT === "number" && v.METRICS_PORT !== 0 && v.METRICS_PORT === v.PORT) {
    problems.push("METRICS_PORT: must differ from PORT (the API port never serves metrics)");
  }
  if (v.OTEL_BSP_MAX_EXPORT_BATCH_SIZE! > v.OTEL_BSP_MAX_QUEUE_SIZE!) {
    problems.push("OTEL_BSP_MAX_EXPORT_BATCH_SIZE: must not exceed OTEL_BSP_MAX_QUEUE_SIZE (a batch is taken from the queue)");
  }

  // Wrong guesses are budgeted per destination and pool, across verifications and OTTs alike.
  const guesses = guessPools(v);
  const tokens = tokenConfig(v, guesses, problems);
  const traffic = trafficConfig(v, problems);
  if (problems.length > 0) throw new ConfigError(problems);

  // Every value below was parsed or defaulted above; the assertions only restate that.

  // PGlite and the in-process store keep their state inside one process: a second worker
  // would have a database and codes of its own.
  const workers = !(v.DATABASE_URL !== undefined && v.REDIS_URL !== undefined) ? 1 : v.WORKERS === "auto" ? availableParallelism() : v.WORKERS!;
  return {
    environment,
    workers,
    listen: {
      host: v.HOST!,
      port: v.PORT!,
      idleTimeoutMs: v.IDLE_TIMEOUT_MS!,
      maxConcurrentStreams: v.MAX_CONCURRENT_STREAMS!,
      maxConnections: v.MAX_CONNECTIONS!,
    },
    watchStreams: { perConnection: v.MAX_WATCH_STREAMS_PER_CONNECTION!, perProcess: v.MAX_WATCH_STREAMS!, lifetimeMs: v.MAX_WATCH_STREAM_MS! },
    clientAddress: { trustedProxies: v.TRUSTED_PROXIES ?? [], ipv6PrefixLength: v.CLIENT_IPV6_PREFIX_LENGTH! },
    ...(v.METRICS_PORT === "off" ? {} : { metrics: { host: v.METRICS_HOST!, port: v.METRICS_PORT! } }),
    shutdownDrainDelayMs: v.SHUTDOWN_DRAIN_DELAY_MS!,
    ...(v.TLS_CERT_FILE !== undefined && v.TLS_KEY_FILE !== undefined
      ? { tls: { certFile: v.TLS_CERT_FILE, keyFile: v.TLS_KEY_FILE } }
      : {}),
    corsOrigins: v.CORS_ORIGINS ?? [],
    limits: { maxRequestBytes: v.MAX_REQUEST_BYTES!, maxResponseBytes: v.MAX_RESPONSE_BYTES! },
    shutdownTimeoutMs: v.SHUTDOWN_TIMEOUT_MS!,
    logLevel: v.LOG_LEVEL!,
    tracing: {
      enabled:
        v.OTEL_SDK_DISABLED !== true &&
        v.OTEL_TRACES_EXPORTER !== "none" &&
        // Records nothing whatever the caller sent: the same as off, which costs nothing.
        v.OTEL_TRACES_SAMPLER !== "always_off" &&
        (v.OTEL_TRACES_EXPORTER === "otlp" || v.OTEL_EXPORTER_OTLP_ENDPOINT !== undefined || v.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT !== undefined),
      serviceName: v.OTEL_SERVICE_NAME!,
      sampler: { name: v.OTEL_TRACES_SAMPLER!, ratio: v.OTEL_TRACES_SAMPLER_ARG! },
      batch: {
        scheduledDelayMillis: v.OTEL_BSP_SCHEDULE_DELAY!,
        maxQueueSize: v.OTEL_BSP_MAX_QUEUE_SIZE!,
        maxExportBatchSize: v.OTEL_BSP_MAX_EXPORT_BATCH_SIZE!,
        exportTimeoutMillis: v.OTEL_BSP_EXPORT_TIMEOUT!,
      },
      // Unset: the exporter's own default (http://localhost:4318/v1/traces).
      ...(v.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT !== undefined
        ? { url: v.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT }
        : v.OTEL_EXPORTER_OTLP_ENDPOINT !== undefined
          ? { url: new URL("v1/traces", v.OTEL_EXPORTER_OTLP_ENDPOINT.endsWith("/") ? v.OTEL_EXPORTER_OTLP_ENDPOINT : `${v.OTEL_EXPORTER_OTLP_ENDPOINT}/`).toString() }
          : {}),
    },
    database:
      v.DATABASE_URL !== undefined
        ? { kind: "postgres", url: v.DATABASE_URL, schema: v.DATABASE_SCHEMA!, poolMax: v.DATABASE_POOL_MAX! }
        : { kind: "pglite", dataDir: v.DATA_DIR!, schema: v.DATABASE_SCHEMA! },
    shortLivedStore:
      v.REDIS_URL !== undefined ? { kind: "redis", urls: v.REDIS_URL, cluster: v.REDIS_CLUSTER!, keyPrefix: v.REDIS_KEY_PREFIX!, secretShards: v.REDIS_SECRET_SHARDS!, timeoutMs: v.REDIS_TIMEOUT_MS! }
        : { kind: "memory" },
    auth,
    delivery,
    verification: {
      defaultTtlMs: v.VERIFICATION_TTL_SECONDS! * 1000,
      maxTtlMs: v.OUT_OF_BAND_CODE_MAX_TTL_SECONDS! * 1000,
      defaultMaxAttempts: v.VERIFICATION_MAX_ATTEMPTS!,
      sends: sendLimitConfig(v, "VERIFICATION"),
      guesses: guesses.account,
      maxPayloadBytes: 4096,
      defaultIssuer: v.TOTP_ISSUER ?? v.PRODUCT_NAME!,
    },
    tokens,
    accountTokens,
    traffic,
    retention: retentionConfig(v),
    ...(testMode === undefined ? {} : { testMode }),
  };
}

/** The `--help` text: every variable with its default and what it does. */
export function configHelp(): string {
  const entries = (Object.keys(variables) as VariableName[]).map((name) => {
    const spec = variables[name];
    return { name, fallback: "default" in spec ? JSON.stringify(spec.default) : "unset", doc: spec.doc };
  });
  // Columns as wide as their longest entry, so every meaning starts in one column.
  const nameWidth = Math.max("VARIABLE".length, ...entries.map((entry) => entry.name.length));
  // A few defaults are long URLs: past this width they push their row's meaning along instead
  // of every row's, so the table still fits a terminal.
  const fallbackWidth = Math.min(24, Math.max("DEFAULT".length, ...entries.map((entry) => entry.fallback.length)));
  const row = (name: string, fallback: string, doc: string) => `  ${name.padEnd(nameWidth)}  ${fallback.padEnd(fallbackWidth)}  ${doc}`;
  return [
    "onetime: one-time secrets over gRPC, gRPC-Web and Connect",
    "",
    "Configured from the environment:",
    row("VARIABLE", "DEFAULT", "MEANING"),
    ...entries.map((entry) => row(entry.name, entry.fallback, entry.doc)),
  ].join("\n");
}
