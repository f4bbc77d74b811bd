import { z } from "zod";
import { isNumberType, NUMBER_TYPES } from "../domain/traffic/numberFacts.js";
import { parseSubnet, type Subnet } from "../net/ipAddress.js";

/**
 * Every environment variable onetime reads, in one table: the parser, the default and the line
 * of help text come from here, so `--help`, the table in docs/configuration.md and validation cannot drift apart.
 */
export interface Variable<S extends z.ZodType = z.ZodType> {
  /** What the variable does, one line, shown by `--help`. */
  readonly doc: string;
  /** Default as the user would write it; absent means "unset" is a valid state. */
  readonly default?: string;
  readonly schema: S;
}

function variable<S extends z.ZodType>(schema: S, doc: string, defaultValue?: string): Variable<S> {
  return defaultValue === undefined ? { doc, schema } : { doc, schema, default: defaultValue };
}

// Digits only before coercing: Number(" ") is 0, which would quietly pick a random port.
const integerText = z.string().trim().regex(/^\d+$/, "must be a whole number");
const wholeNumber = (min: number, max: number) => integerText.transform(Number).pipe(z.number().int().min(min).max(max));
const port = wholeNumber(0, 65535);
const nonEmpty = z.string().trim().min(1);
const url = (protocols: RegExp, hint: string) =>
  z.url({ protocol: protocols, error: `must be a URL (${hint})` });
const trueOrFalse = z.enum(["true", "false"]).transform((value) => value === "true");
/** A number from 0 to 1, written plainly (`0.25`, `1`). */
const unitInterval = (what: string) =>
  z
    .string()
    .trim()
    .regex(/^(0(\.\d+)?|1(\.0+)?)$/, `must be ${what} from 0 to 1`)
    .transform(Number);
const commaList = z
  .string()
  .transform((raw) =>
    raw
      .split(",")
      .map((item) => item.trim())
      .filter((item) => item.length > 0),
  );
const isoCountries = commaList.pipe(
  z.array(z.string().regex(/^[A-Za-z]{2}$/, "each must be a two-letter ISO 3166 country code (GB, US)").transform((code) => code.toUpperCase())),
);
/** Number types, or `none` (an empty value reads as the default, like every variable's). */
const numberTypes = commaList.pipe(
  z.array(z.string()).transform((types, context) => {
    if (types.length === 1 && types[0] === "none") return [];
    const unknown = types.filter((type) => !isNumberType(type));
    if (unknown.length > 0) context.addIssue({ code: "custom", message: `each must be one of ${NUMBER_TYPES.join(", ")}, or none alone` });
    return types;
  }),
);
/** A plain decimal amount (money or messages): `25`, `12.5`. */
const amount = z
  .string()
  .trim()
  .regex(/^\d{1,12}(\.\d{1,6})?$/, "must be an amount such as 250 or 12.5")
  .transform(Number);
/** Message kinds, as CONSOLE_CHANNELS and DISABLED_CHANNELS name them. */
const channelKinds = commaList.pipe(z.array(z.enum(["email", "sms", "push"], { error: "each must be email, sms or push" })));
/** APNs topics a caller may name, or `none` for only APNS_TOPIC (an empty value reads as unset, like every variable's). */
const apnsTopics = commaList.pipe(
  z.array(z.string().regex(/^[A-Za-z0-9_.]{1,255}$/, "each must be a bundle id (letters, digits, underscores and dots), or none alone")).transform((topics, context) => {
    if (topics.length === 1 && topics[0] === "none") return [];
    if (topics.includes("none")) context.addIssue({ code: "custom", message: "none stands alone" });
    return topics;
  }),
);
const origin = z.string().refine((value) => {
  try {
    const parsed = new URL(value);
    return (parsed.protocol === "http:" || parsed.protocol === "https:") && parsed.origin === value;
  } catch {
    return false;
  }
}, "each origin must be scheme://host[:port] with no path or trailing slash");

export const variables = {
  NODE_ENV: variable(
    z.enum(["development", "production", "test"]),
    "production refuses development-only modes (embedded stores, generated secrets) and requires HMAC_KEY",
    "development",
  ),
  WORKERS: variable(
    // One check with one message: as a union, zod answered "Invalid input", naming neither choice.
    z
      .string()
      .trim()
      .refine((value) => value === "auto" || (/^\d+$/.test(value) && Number(value) >= 1 && Number(value) <= 256), 'must be "auto" or a whole number from 1 to 256')
      .transform((value): "auto" | number => (value === "auto" ? "auto" : Number(value))),
    "processes serving the port; auto = one per core (always 1 on the embedded backends, which live in one process)",
    "auto",
  ),
  PORT: variable(port, "TCP port for gRPC, gRPC-Web and Connect (0 picks a free port)", "8080"),
  HOST: variable(nonEmpty, "address to listen on", "0.0.0.0"),
  METRICS_PORT: variable(
    // One check with one message, as WORKERS: a port or the word that turns metrics off.
    z
      .string()
      .trim()
      .refine((value) => value === "off" || (/^\d+$/.test(value) && Number(value) <= 65535), 'must be "off" or a port from 0 to 65535')
      .transform((value): "off" | number => (value === "off" ? "off" : Number(value))),
    "TCP port serving Prometheus metrics at GET /metrics, never the API port (0 picks a free port; off serves none)",
    "9464",
  ),
  METRICS_HOST: variable(nonEmpty, "address the metrics port listens on; loopback lets only this machine scrape (0.0.0.0 only on a private network)", "127.0.0.1"),
  TLS_CERT_FILE: variable(nonEmpty, "PEM certificate chain; with TLS_KEY_FILE turns on TLS (h2 and HTTP/1.1)"),
  TLS_KEY_FILE: variable(nonEmpty, "PEM private key for TLS_CERT_FILE"),
  CORS_ORIGINS: variable(
    commaList.pipe(z.array(origin)),
    "comma-separated browser origins allowed to call the API (empty: no browser origin)",
    "",
  ),
  MAX_REQUEST_BYTES: variable(wholeNumber(1, 16 * 1024 * 1024), "largest request message accepted", "65536"),
  MAX_RESPONSE_BYTES: variable(wholeNumber(1, 64 * 1024 * 1024), "largest response message sent", "4194304"),
  IDLE_TIMEOUT_MS: variable(
    wholeNumber(1, 60 * 60 * 1000),
    "a connection that sends and receives nothing this long is closed (also bounds slow headers)",
    "60000",
  ),
  MAX_CONCURRENT_STREAMS: variable(wholeNumber(1, 10_000), "HTTP/2 streams one connection may have open at once", "100"),
  MAX_CONNECTIONS: variable(
    wholeNumber(1, 1_000_000),
    "connections one process (each worker) holds open at once; requests on more are refused resource_exhausted and their connection closed",
    "1000",
  ),
  MAX_WATCH_STREAMS_PER_CONNECTION: variable(
    wholeNumber(1, 10_000),
    "server-streaming calls (Health/Watch, WatchAuthToken) one connection may have open at once; more are refused resource_exhausted",
    "10",
  ),
  MAX_WATCH_STREAMS: variable(
    wholeNumber(1, 1_000_000),
    "server-streaming calls one process (each worker) holds open at once, on all connections; more are refused resource_exhausted",
    "1000",
  ),
  MAX_WATCH_STREAM_MS: variable(
    wholeNumber(1_000, 24 * 60 * 60 * 1000),
    "longest a server-streaming call stays open; then it ends unavailable (STREAM_LIFETIME_REACHED) and the client calls again",
    "600000",
  ),
  TRUSTED_PROXIES: variable(
    commaList.transform((entries, context) => {
      const subnets: Subnet[] = [];
      for (const entry of entries) {
        const subnet = parseSubnet(entry);
        if (typeof subnet === "string") context.addIssue({ code: "custom", message: subnet });
        else subnets.push(subnet);
      }
      return subnets;
    }),
    "comma-separated addresses or subnets (10.0.0.0/8, 2001:db8::/32) of the proxies whose X-Forwarded-For is believed; empty: the client is the socket peer",
    "",
  ),
  CLIENT_IPV6_PREFIX_LENGTH: variable(
    wholeNumber(32, 128),
    "IPv6 clients count against per-client limits per network of this many bits (one customer usually holds a /64); IPv4 per address",
    "64",
  ),
  SHUTDOWN_DRAIN_DELAY_MS: variable(
    wholeNumber(0, 5 * 60 * 1000),
    "after SIGTERM, report NOT_SERVING but keep serving this long, so load balancers stop routing first",
    "0",
  ),
  SHUTDOWN_TIMEOUT_MS: variable(
    wholeNumber(1, 10 * 60 * 1000),
    "how long in-flight calls may run after SIGTERM before connections are cut",
    "10000",
  ),
  LOG_LEVEL: variable(
    z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]),
    "pino log level",
    "info",
  ),
  OTEL_TRACES_EXPORTER: variable(
    z.enum(["otlp", "none"]),
    "otlp turns OpenTelemetry traces on (OTLP/HTTP); unset: on when an OTLP endpoint is set. Other OTEL_* variables go to the SDK as it documents them",
  ),
  OTEL_EXPORTER_OTLP_ENDPOINT: variable(url(/^https?$/, "http(s)://collector:4318"), "OTLP/HTTP collector base URL; setting it turns traces on"),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: variable(url(/^https?$/, "http(s)://collector:4318/v1/traces"), "OTLP/HTTP traces URL, when not the endpoint's /v1/traces; setting it turns traces on"),
  OTEL_SDK_DISABLED: variable(trueOrFalse, "true turns OpenTelemetry off whatever else is set", "false"),
  OTEL_SERVICE_NAME: variable(nonEmpty, "service.name of the spans", "onetime"),
  OTEL_TRACES_SAMPLER: variable(
    z.enum(["always_on", "always_off", "traceidratio", "parentbased_always_on", "parentbased_always_off", "parentbased_traceidratio"]),
    "which traces are recorded: parentbased_* follow the caller's sampled flag, and decide alone for a trace that starts here",
    "parentbased_always_on",
  ),
  OTEL_BSP_SCHEDULE_DELAY: variable(wholeNumber(1, 10 * 60 * 1000), "milliseconds between exports of the spans batched so far", "5000"),
  OTEL_BSP_MAX_QUEUE_SIZE: variable(wholeNumber(1, 1_000_000), "spans waiting for export at most; past it new spans are dropped (and logged)", "2048"),
  OTEL_BSP_MAX_EXPORT_BATCH_SIZE: variable(wholeNumber(1, 1_000_000), "spans per export at most (at most OTEL_BSP_MAX_QUEUE_SIZE)", "512"),
  OTEL_BSP_EXPORT_TIMEOUT: variable(wholeNumber(1, 10 * 60 * 1000), "milliseconds an export may take before it is given up", "30000"),
  OTEL_TRACES_SAMPLER_ARG: variable(
    unitInterval("a ratio"),
    "the share of traces *traceidratio samples, from 0 to 1",
    "1",
  ),
  DATABASE_URL: variable(
    url(/^postgres(ql)?$/, "postgres://user:pass@host:5432/db"),
    "Postgres for durable records; unset runs embedded PGlite in DATA_DIR",
  ),
  DATABASE_SCHEMA: variable(
    z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, "must be a lowercase SQL identifier"),
    "Postgres schema onetime's tables live in (created if missing)",
    "public",
  ),
  DATABASE_POOL_MAX: variable(wholeNumber(2, 1000), "largest Postgres connection pool per process (one is held while migrating, and by a retention purge round)", "10"),
  DATA_DIR: variable(nonEmpty, "where embedded PGlite keeps its data (used only without DATABASE_URL); one process per directory", "./.onetime/pgdata"),
  REDIS_URL: variable(
    commaList.pipe(
      z
        .array(url(/^rediss?$/, "redis://host:6379 or rediss:// for TLS"))
        .min(1, "must be a URL (redis://host:6379 or rediss:// for TLS)"),
    ),
    "Redis for short-lived codes, attempts and rate limits; unset keeps them in process memory. With REDIS_CLUSTER=true: one or more nodes of the cluster, comma-separated",
  ),
  REDIS_CLUSTER: variable(
    trueOrFalse,
    "REDIS_URL names a Redis Cluster (its nodes are found from the ones listed)",
    "false",
  ),
  REDIS_KEY_PREFIX: variable(nonEmpty, "prefix of every Redis key onetime writes", "onetime:"),
  REDIS_TIMEOUT_MS: variable(
    wholeNumber(100, 60_000),
    "how long the Redis commands of one call may take in all, undo included, before it answers unavailable (and the longest one command of the relays waits)",
    "2000",
  ),
  REDIS_SECRET_SHARDS: variable(
    wholeNumber(1, 4096),
    "hash tags (Cluster slots) pending codes and their queue are spread over; every instance must use the same, and changing it is a stop (codes in flight are lost)",
    "16",
  ),
  AUTH_JWT_SECRET: variable(
    z.string().min(32, "must be at least 32 characters (HS256 needs a 256-bit secret)"),
    "shared HS256 secret that signs callers' bearer JWTs",
  ),
  AUTH_JWKS_URL: variable(url(/^https?$/, "https://issuer/.well-known/jwks.json"), "JWKS URL whose keys sign callers' bearer JWTs"),
  AUTH_ISSUER: variable(nonEmpty, "required `iss` of bearer JWTs", "onetime"),
  AUTH_AUDIENCE: variable(nonEmpty, "required `aud` of bearer JWTs", "onetime"),
  AUTH_ROLES_CLAIM: variable(nonEmpty, "JWT claim holding the caller's roles (string or array)", "roles"),
  AUTH_SERVICE_ROLE: variable(nonEmpty, "role that makes a caller a service principal", "service"),
  AUTH_ADMIN_ROLE: variable(nonEmpty, "role that makes a caller an admin principal", "admin"),
  AUTH_MAX_TOKEN_AGE_SECONDS: variable(
    wholeNumber(60, 365 * 86_400),
    "oldest a bearer JWT may be by its iat (which it must then carry), however far off its exp; unset: no limit",
  ),
  AUTH_TOKEN_CACHE_SIZE: variable(
    wholeNumber(0, 1_000_000),
    "bearer tokens remembered as verified (until their `exp`, at most 60 s) so a repeated token skips the signature check; 0 checks every call",
    "10000",
  ),
  ENCRYPTION_KEYS: variable(
    z.string().regex(/^[A-Za-z0-9_-]{1,32}:[A-Za-z0-9+/=]{43,44}(\s*,\s*[A-Za-z0-9_-]{1,32}:[A-Za-z0-9+/=]{43,44})*$/, 'must be "id:base64-of-32-bytes[,id:…]"'),
    "AES-256-GCM keys sealing secrets at rest; the first encrypts, all decrypt (rotation). Generated and kept in DATA_DIR's parent on the embedded defaults",
  ),
  HMAC_KEY: variable(
    z.string().regex(/^[A-Za-z0-9+/=]{43,44}$/, "must be base64 of 32 bytes"),
    "key for the keyed hashes of codes and consumer names (base64, 32 bytes; required when NODE_ENV=production); unset: the first ENCRYPTION_KEYS key, and a start after that key changed is refused (TOTP enrolments are named under it)",
  ),
  PRODUCT_NAME: variable(nonEmpty, "the name messages sign with", "onetime"),
  DEFAULT_LOCALE: variable(z.string().regex(/^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$/, "must be a BCP 47 tag such as en or pt-BR"), "locale of messages when the caller's has no template", "en"),
  TEMPLATES_DIR: variable(nonEmpty, "directory of template overrides: <locale>/<kind>/<part>.mustache"),
  SMTP_URL: variable(url(/^smtps?$/, "smtp://user:pass@host:587 or smtps://…:465"), "SMTP server for email; unset: email prints to the console on the embedded backends, and with DATABASE_URL or REDIS_URL the start is refused unless CONSOLE_CHANNELS or DISABLED_CHANNELS names email"),
  SMTP_FROM: variable(nonEmpty, 'sender of every email, e.g. "Acme <no-reply@acme.example>" (required with SMTP_URL)'),
  SMTP_REQUIRE_TLS: variable(trueOrFalse, "refuse to send over smtp:// unless the server offers STARTTLS", "false"),
  SMS_PROVIDER: variable(z.enum(["twilio", "webhook"]), "SMS provider; unset: SMS prints to the console on the embedded backends, and with DATABASE_URL or REDIS_URL the start is refused unless CONSOLE_CHANNELS or DISABLED_CHANNELS names sms"),
  TWILIO_BASE_URL: variable(url(/^https?$/, "https://api.twilio.com"), "Messages API base URL (Twilio or a compatible provider)", "https://api.twilio.com"),
  TWILIO_ACCOUNT_SID: variable(nonEmpty, "account SID (SMS_PROVIDER=twilio)"),
  TWILIO_API_KEY_SID: variable(nonEmpty, "API key SID to authenticate with instead of the account SID"),
  TWILIO_AUTH_TOKEN: variable(nonEmpty, "auth token, or the API key's secret"),
  TWILIO_FROM: variable(nonEmpty, "sender number or alphanumeric sender id"),
  TWILIO_MESSAGING_SERVICE_SID: variable(nonEmpty, "messaging service to send through, instead of TWILIO_FROM"),
  SMS_WEBHOOK_URL: variable(url(/^https?$/, "https://sms.example/send"), "endpoint that sends an SMS (SMS_PROVIDER=webhook)"),
  SMS_WEBHOOK_HEADERS: variable(
    z.string().transform((raw, context) => {
      try {
        const parsed: unknown = JSON.parse(raw);
        if (typeof parsed === "object" && parsed !== null && !Array.isArray(parsed) && Object.values(parsed).every((value) => typeof value === "string")) {
          return parsed as Record<string, string>;
        }
      } catch {
        // reported below
      }
      context.addIssue({ code: "custom", message: 'must be a JSON object of strings, e.g. {"Authorization":"Bearer …"}' });
      return z.NEVER;
    }),
    "JSON object of headers sent to SMS_WEBHOOK_URL",
  ),
  SMS_WEBHOOK_BODY_TEMPLATE: variable(nonEmpty, 'JSON body with {{to}} and {{text}}, e.g. {"to":"{{to}}","message":"{{text}}"}'),
  SMS_WEBHOOK_MESSAGE_ID_PATH: variable(nonEmpty, "dotted path of the provider's message id in the webhook's JSON answer"),
  CONSOLE_CHANNELS: variable(
    channelKinds,
    "kinds (email, sms, push) whose messages print whole, codes included, to stderr instead of going out: for development and tests on real stores (the embedded backends print every kind without a provider); refused with NODE_ENV=production",
    "",
  ),
  DISABLED_CHANNELS: variable(
    channelKinds,
    "kinds (email, sms, push) this deployment sends none of, on purpose: requests that need one are refused (failed_precondition). With DATABASE_URL or REDIS_URL every kind needs a provider or a place in this list or CONSOLE_CHANNELS",
    "",
  ),
  TEST_MODE: variable(
    trueOrFalse,
    "true: messages to test destinations (TEST_MODE_EMAIL_PATTERNS, TEST_MODE_PHONE_PREFIXES, TEST_MODE_PUSH_TOKEN_PREFIXES) never reach a provider; they land in an inbox admins read with TestInboxService (docs/test-mode.md). Refused with NODE_ENV=production",
    "false",
  ),
  TEST_MODE_EMAIL_PATTERNS: variable(
    commaList.pipe(
      z.array(
        z
          .string()
          // The last label literal: `*@*` or `*@*.*` would make every address a test one.
          .regex(/^[^@\s]+@[^@\s]*\.[A-Za-z0-9-]+$/, "each must be an address pattern such as *@test.example (* matches any run of characters, but not in the last label of the domain)"),
      ),
    ),
    "comma-separated address patterns (* matches any run of characters, case-insensitive) whose email test mode keeps; the local part scripts the outcome (fail+…, retry1+…, timeout+…)",
    "*@test.example",
  ),
  TEST_MODE_PHONE_PREFIXES: variable(
    commaList.pipe(z.array(z.string().regex(/^\+\d{6,14}$/, "each must be the start of an E.164 number, 6 digits or more so it cannot take in a whole area, such as +141555501"))),
    "comma-separated E.164 prefixes whose SMS test mode keeps (default: the fictional +1 415 555-0100…0199)",
    "+141555501",
  ),
  TEST_MODE_PUSH_TOKEN_PREFIXES: variable(
    commaList.pipe(z.array(z.string().regex(/^[A-Za-z0-9_:-]{4,}$/, "each must be the start of a device token, 4 characters or more (letters, digits, _ : -)"))),
    "comma-separated device token (pn_prid) prefixes whose pushes test mode keeps",
    "test-device-",
  ),
  APNS_KEY_FILE: variable(nonEmpty, "APNs token-auth key (.p8); with APNS_KEY_ID, APNS_TEAM_ID, APNS_TOPIC and APNS_ALLOWED_TOPICS turns on apns and apns.dev"),
  APNS_KEY_ID: variable(nonEmpty, "key id of APNS_KEY_FILE"),
  APNS_TEAM_ID: variable(nonEmpty, "Apple developer team id"),
  APNS_TOPIC: variable(nonEmpty, "default apns-topic (the app's bundle id), used when a device gives no pn_param"),
  APNS_ALLOWED_TOPICS: variable(
    apnsTopics,
    "topics besides APNS_TOPIC a device's pn_param may name, comma-separated, or none (required with APNS_KEY_FILE: anonymous callers name the topic, so the apps this key may notify are listed); any other is refused as invalid_argument",
  ),
  APNS_PRODUCTION_URL: variable(url(/^https?$/, "https://api.push.apple.com"), "APNs production endpoint (pn_provider apns)", "https://api.push.apple.com"),
  APNS_SANDBOX_URL: variable(url(/^https?$/, "https://api.sandbox.push.apple.com"), "APNs sandbox endpoint (pn_provider apns.dev)", "https://api.sandbox.push.apple.com"),
  FCM_SERVICE_ACCOUNT_FILE: variable(nonEmpty, "Google service-account JSON; turns on fcm"),
  FCM_BASE_URL: variable(url(/^https?$/, "https://fcm.googleapis.com"), "FCM HTTP v1 endpoint", "https://fcm.googleapis.com"),
  OUTBOX_MAX_ATTEMPTS: variable(wholeNumber(1, 100), "delivery attempts before a message is given up (dead)", "8"),
  OUTBOX_BATCH_SIZE: variable(wholeNumber(1, 1000), "messages a relay claims and sends at once", "20"),
  OUTBOX_POLL_INTERVAL_MS: variable(wholeNumber(10, 60_000), "how often an idle relay looks for due messages", "1000"),
  OUTBOX_RETENTION_HOURS: variable(wholeNumber(1, 24 * 365), "finished outbox rows (no payload left) are deleted after this", "168"),
  RETENTION_INTERVAL_SECONDS: variable(wholeNumber(10, 86_400), "time between retention purge rounds on each instance (one instance purges at a time)", "300"),
  RETENTION_BATCH_SIZE: variable(wholeNumber(1, 10_000), "rows one purge statement deletes or updates at most", "1000"),
  RETENTION_MAX_BATCHES: variable(wholeNumber(1, 10_000), "purge statements per table and round at most; what is left waits for the next round", "50"),
  AUDIT_RETENTION_DAYS: variable(wholeNumber(1, 3_650), "audit events are deleted this long after they occurred", "365"),
  AUDIT_ADDRESS_RETENTION_HOURS: variable(wholeNumber(0, 24 * 3_650), "the caller's address in an audit event is replaced by a keyed hash this long after it occurred", "168"),
  FACTOR_REPORT_RETENTION_HOURS: variable(wholeNumber(0, 24 * 3_650), "\"this wasn't me\" report tokens (used or not) are deleted this long after they expire", "168"),
  ACCOUNT_TOKEN_RETENTION_HOURS: variable(wholeNumber(0, 24 * 3_650), "account tokens (used, revoked or not) are deleted this long after they expire, and never within the device window", "168"),
  DELIVERY_TIMEOUT_MS: variable(wholeNumber(100, 120_000), "deadline of one send to a provider", "10000"),
  VERIFICATION_TTL_SECONDS: variable(wholeNumber(10, 7 * 86_400), "how long an email or SMS code works unless the caller says otherwise; at most OUT_OF_BAND_CODE_MAX_TTL_SECONDS", "600"),
  OUT_OF_BAND_CODE_MAX_TTL_SECONDS: variable(
    wholeNumber(10, 7 * 86_400),
    "longest an email or SMS code (verifications, TokenService OTTs) may work, by default or as a caller asks; raising it past 600 goes beyond NIST SP 800-63B's 10 minutes for out-of-band codes, so do it only for users who cannot read their messages sooner",
    "600",
  ),
  VERIFICATION_MAX_ATTEMPTS: variable(wholeNumber(1, 10), "wrong codes allowed per verification unless the caller asks for fewer or more (at most 10)", "5"),
  VERIFICATION_SEND_LIMIT: variable(wholeNumber(1, 1000), "codes sent to one consumer by one method per send window", "5"),
  VERIFICATION_SEND_WINDOW_SECONDS: variable(wholeNumber(1, 86_400), "the send window", "600"),
  VERIFICATION_RESEND_DELAY_SECONDS: variable(wholeNumber(0, 3_600), "wait before the second code to a consumer; each later one waits twice as long", "30"),
  VERIFICATION_MAX_RESEND_DELAY_SECONDS: variable(wholeNumber(0, 86_400), "longest wait between two codes", "300"),
  VERIFICATION_GUESS_LIMIT: variable(wholeNumber(1, 10_000), "code attempts one consumer may have across all its verifications per guess window", "50"),
  VERIFICATION_GUESS_WINDOW_SECONDS: variable(wholeNumber(1, 7 * 86_400), "the guess window", "3600"),
  VERIFICATION_GUESS_DAILY_LIMIT: variable(wholeNumber(1, 100_000), "code attempts one consumer may have per day in the account pool (verifications, login and other OTTs to a user's own keys)", "200"),
  PUBLIC_GUESS_LIMIT: variable(wholeNumber(1, 10_000), "attempts one address may have per public guess window at OTTs anyone can have sent to an address they name (registration, recovery, a new key)", "20"),
  PUBLIC_GUESS_WINDOW_SECONDS: variable(wholeNumber(1, 7 * 86_400), "the public guess window", "3600"),
  PUBLIC_GUESS_DAILY_LIMIT: variable(wholeNumber(1, 100_000), "attempts one address may have per day at public OTTs", "50"),
  PUBLIC_GUESS_STREAK_LIMIT: variable(wholeNumber(1, 100), "wrong public OTTs in a row after which an address gets no more until the streak window passes (NIST SP 800-63B: at most 100)", "100"),
  PUBLIC_GUESS_STREAK_WINDOW_SECONDS: variable(wholeNumber(60, 90 * 86_400), "how long a run of wrong public OTTs is remembered after its last failure", "604800"),
  SMS_ALLOWED_COUNTRIES: variable(isoCountries, "comma-separated ISO country codes SMS may go to (empty: every country not denied)", ""),
  SMS_DENIED_COUNTRIES: variable(isoCountries, "comma-separated ISO country codes SMS never goes to", ""),
  SMS_DENIED_NUMBER_TYPES: variable(
    numberTypes,
    `number types SMS never goes to, of: ${NUMBER_TYPES.join(", ")}; none for no type`,
    "premium_rate,shared_cost,international_network,unknown",
  ),
  SMS_PREFIX_DIGITS: variable(wholeNumber(1, 8), "national digits after the country code that make a number's prefix (+44 7911 with 4)", "4"),
  SMS_PREFIX_HOURLY_LIMIT: variable(wholeNumber(0, 1_000_000), "SMS per number prefix per hour, every number together (0: no limit)", "20"),
  SMS_COUNTRY_HOURLY_LIMIT: variable(wholeNumber(0, 10_000_000), "SMS per country per hour (0: no limit)", "500"),
  SMS_PER_MINUTE_LIMIT: variable(wholeNumber(0, 10_000_000), "SMS per minute, every destination together (0: no limit)", "300"),
  EMAIL_PER_MINUTE_LIMIT: variable(wholeNumber(0, 10_000_000), "emails per minute, every address together (0: no limit)", "3000"),
  SMS_PRICES: variable(commaList, "what one SMS costs per country, e.g. US=0.0079,GB=0.035,*=0.05 (* for every other country; required when set); unset: SMS budgets count messages"),
  SMS_COUNTRY_HOURLY_BUDGET: variable(amount, "SMS spend per country per hour, in SMS_PRICES' currency or in messages (unset or 0: none)"),
  SMS_COUNTRY_DAILY_BUDGET: variable(amount, "SMS spend per country per day, in SMS_PRICES' currency or in messages (0: none)", "5000"),
  SMS_CONVERSION_MIN_RATIO: variable(unitInterval("a ratio"), "share of SMS codes that must be used, per prefix and per country, once enough were sent (0: not checked)", "0.2"),
  SMS_CONVERSION_WINDOW_SECONDS: variable(wholeNumber(60, 7 * 86_400), "the window sends and used codes are counted over", "3600"),
  SMS_CONVERSION_PREFIX_MIN_SENDS: variable(wholeNumber(1, 1_000_000), "SMS to one prefix in the window before its conversion is judged", "20"),
  SMS_CONVERSION_COUNTRY_MIN_SENDS: variable(wholeNumber(1, 10_000_000), "SMS to one country in the window before its conversion is judged", "200"),
  TOTP_ISSUER: variable(nonEmpty, "issuer shown in authenticator apps when the caller gives none (default PRODUCT_NAME)"),
  TOKEN_TTL_SECONDS: variable(wholeNumber(10, 7 * 86_400), "how long a profile OTT (TokenService) works; at most OUT_OF_BAND_CODE_MAX_TTL_SECONDS", "600"),
  TOKEN_TTL_OVERRIDES: variable(commaList, "per operation, e.g. login=300,password_recovery=480 (operations as in TOKEN_DISABLED_OPERATIONS); each at most OUT_OF_BAND_CODE_MAX_TTL_SECONDS"),
  TOKEN_DISABLED_OPERATIONS: variable(commaList, "switchable TokenService operations turned off: login, key_recovery (both steps), anti_phishing_code, mfa_disable"),
  TOKEN_MASK_DESTINATIONS: variable(trueOrFalse, "answers show where an OTT went masked (j***@example.com, +1******6789)", "true"),
  TOKEN_MAX_ATTEMPTS: variable(wholeNumber(1, 10), "wrong tokens allowed per OTT", "5"),
  TOKEN_SEND_LIMIT: variable(wholeNumber(1, 1000), "OTTs of one operation sent to one destination per send window", "5"),
  TOKEN_SEND_WINDOW_SECONDS: variable(wholeNumber(1, 86_400), "the OTT send window", "1800"),
  TOKEN_RESEND_DELAY_SECONDS: variable(wholeNumber(0, 3_600), "wait before the second OTT to a destination; each later one waits twice as long", "30"),
  TOKEN_MAX_RESEND_DELAY_SECONDS: variable(wholeNumber(0, 86_400), "longest wait between two OTTs", "300"),
  TOKEN_EMAIL_CODE_LENGTH: variable(wholeNumber(4, 64), "characters of an OTT sent by email", "6"),
  TOKEN_EMAIL_CODE_SYMBOLS: variable(commaList, "sets an emailed OTT is drawn from: digits, lowercase, uppercase", "digits"),
  TOKEN_SMS_CODE_LENGTH: variable(wholeNumber(4, 64), "characters of an OTT sent by SMS", "6"),
  TOKEN_SMS_CODE_SYMBOLS: variable(commaList, "sets an OTT by SMS is drawn from: digits, lowercase, uppercase", "digits"),
  TOKEN_PUBLIC_REQUESTS: variable(trueOrFalse, "registration and password recovery OTTs may be requested and consumed without a bearer token", "false"),
  TOKEN_PUBLIC_CAPTCHA: variable(
    trueOrFalse,
    "public registration and password recovery requests must carry a CAPTCHA answer (captcha_response) that CAPTCHA_PROVIDER accepts; services are never asked",
    "false",
  ),
  TOKEN_CLIENT_LIMIT: variable(wholeNumber(1, 1_000_000), "OTT requests one public client address, or one user, may make per client window (services are not limited this way)", "20"),
  TOKEN_CLIENT_WINDOW_SECONDS: variable(wholeNumber(1, 86_400), "the OTT client window", "600"),
  TOKEN_FACTOR_REPORT_TTL_SECONDS: variable(
    wholeNumber(3_600, 30 * 86_400),
    "how long the \"this wasn't me\" token in a factor-change notice works; it can only lock the profile's factor changes, so it may outlive a sign-in code by far",
    "604800",
  ),
  ACCOUNT_CREATION_REQUEST_TOKEN_TTL_SECONDS: variable(wholeNumber(10, 7 * 86_400), "how long an account creation request token works (CAPTCHA included)", "3600"),
  ACCOUNT_CREATION_TOKEN_TTL_SECONDS: variable(wholeNumber(10, 7 * 86_400), "how long an account creation token works", "86400"),
  ACCOUNT_RECOVERY_TOKEN_TTL_SECONDS: variable(wholeNumber(10, 7 * 86_400), "how long an account recovery token works", "900"),
  AUTH_TOKEN_TTL_SECONDS: variable(wholeNumber(1, 86_400), "how long an auth (device pairing) token works; WatchAuthToken ends then", "600"),
  ACCOUNT_TOKEN_DEVICE_LIMIT: variable(wholeNumber(1, 10_000), "account creation (or recovery) tokens one device may be sent per device window", "5"),
  ACCOUNT_TOKEN_DEVICE_WINDOW_SECONDS: variable(wholeNumber(1, 30 * 86_400), "the device window (sliding)", "86400"),
  ACCOUNT_TOKEN_CLIENT_LIMIT: variable(wholeNumber(1, 1_000_000), "calls to AccountTokenService RPCs one public client address, or one user, may make per client window", "60"),
  ACCOUNT_TOKEN_CLIENT_WINDOW_SECONDS: variable(wholeNumber(1, 86_400), "the client window", "60"),
  CAPTCHA_PROVIDER: variable(
    z.enum(["hcaptcha", "recaptcha", "turnstile", "development"]),
    "CAPTCHA that validates account creation request tokens (and public OTT requests, TOKEN_PUBLIC_CAPTCHA); development accepts the answer dev-captcha-ok from anyone (refused with NODE_ENV=production); unset: development on the embedded backends, otherwise validation is refused",
  ),
  CAPTCHA_SECRET: variable(nonEmpty, "the CAPTCHA provider's secret key"),
  CAPTCHA_VERIFY_URL: variable(url(/^https?$/, "https://api.hcaptcha.com/siteverify"), "siteverify endpoint; default the provider's"),
  CAPTCHA_HOSTNAMES: variable(
    commaList.pipe(z.array(z.string().regex(/^[a-z0-9.-]+$/i, "must be host names (example.com)"))),
    "comma-separated hosts the CAPTCHA must have been solved on (the answer's hostname); empty: any",
    "",
  ),
  CAPTCHA_ACTION: variable(nonEmpty, "the action the answer must carry (reCAPTCHA v3, Turnstile); unset: any"),
  CAPTCHA_MIN_SCORE: variable(
    unitInterval("a score"),
    "lowest score accepted (reCAPTCHA v3, hCaptcha Enterprise); set it for reCAPTCHA v3, whose every real token succeeds",
  ),
} as const;

export type VariableName = keyof typeof variables;

export type RawEnvironment = Readonly<Record<string, string | undefined>>;
