import { setMaxListeners } from "node:events";
import type { DescService } from "@bufbuild/protobuf";
import type { ConnectRouter } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { createValidateInterceptor } from "@connectrpc/validate";
import { Health } from "../gen/grpc/health/v1/health_pb.js";
import { AccountTokenService } from "../gen/onetime/v1/account_token_service_pb.js";
import { TokenService } from "../gen/onetime/v1/token_service_pb.js";
import { VerificationService } from "../gen/onetime/v1/verification_service_pb.js";
import { access, assertCovers } from "./auth/access.js";
import { authInterceptor } from "./auth/authInterceptor.js";
import { setUpAuth } from "./auth/authSetup.js";
import type { DevelopmentCredentials } from "./auth/developmentCredentials.js";
import type { Config } from "./config/config.js";
import type { Logger } from "./observability/logger.js";
import { clientContextValues } from "./rpc/clientAddress.js";
import { registerHealth } from "./rpc/health/healthService.js";
import { HealthStatus } from "./rpc/health/healthStatus.js";
import { CapacityLimitReached } from "./errors/domainError.js";
import { CallGate } from "./rpc/interceptors/callGate.js";
import { errorBoundary } from "./rpc/interceptors/errorBoundary.js";
import { redisDeadline } from "./rpc/interceptors/redisDeadline.js";
import { requestLog } from "./rpc/interceptors/requestLog.js";
import { rpcSpans } from "./rpc/interceptors/rpcSpans.js";
import { connectionKey, connectionOf, watchStreams } from "./rpc/interceptors/watchStreams.js";
import { wellFormedStrings } from "./rpc/interceptors/wellFormedStrings.js";
import { registerReflection } from "./rpc/reflection/reflectionService.js";
import { registerVerificationService } from "./rpc/verification/verificationHandlers.js";
import { registerTokenService } from "./rpc/tokens/tokenHandlers.js";
import { ProfileTokens } from "./domain/profileTokens/profileTokens.js";
import { SecurityProfiles } from "./domain/profileTokens/securityProfiles.js";
import { sqlSecurityProfiles } from "./storage/sql/sqlSecurityProfiles.js";
import { registerAccountTokenService } from "./rpc/accountTokens/accountTokenHandlers.js";
import { AccountTokens } from "./domain/accountTokens/accountTokens.js";
import { ClientLimits } from "./domain/clientLimits.js";
import { developmentCaptcha, siteverifyCaptcha } from "./captcha/siteverifyCaptcha.js";
import { wireFormat } from "./rpc/wireFormat.js";
import { createRpcEdge } from "./rpc/edge/rpcEdge.js";
import { connectReadMaxBytes } from "./rpc/edge/requestSizeLimit.js";
import { Verifications } from "./domain/verification/verificationService.js";
import { OneTimeSecrets } from "./domain/secrets/oneTimeSecrets.js";
import { keyedHash } from "./crypto/keyedHash.js";
import { channelsFromConfig } from "./channels/channelsFromConfig.js";
import { createTemplateRenderer } from "./channels/templates/index.js";
import type { TemplateRenderer } from "./domain/messages/messageTemplates.js";
import { loadEncryptionKeys } from "./crypto/encryptionKeys.js";
import { createSecretBox } from "./crypto/secretBox.js";
import { chooseServerKey, serverKeyChangedMessage } from "./crypto/serverKey.js";
import { StartRefused } from "./errors/startRefused.js";
import { KeyChangedError } from "./storage/sql/keyGuard.js";
import { createDelivery, type Delivery } from "./delivery/delivery.js";
import { OutboxRelay } from "./delivery/outboxRelay.js";
import { defaultRetryPolicy } from "./delivery/retryPolicy.js";
import { Sender } from "./delivery/sender.js";
import { createMetrics, type Metrics } from "./observability/metrics.js";
import { registerQueueMetrics } from "./observability/queueMetrics.js";
import { startTracing } from "./observability/tracing.js";
import { verificationEventLog } from "./observability/verificationEventLog.js";
import { withCors, type RequestHandler } from "./server/cors.js";
import { refusalMetrics } from "./observability/refusalMetrics.js";
import { TrafficPolicy } from "./domain/traffic/trafficPolicy.js";
import { describePhoneNumber } from "./channels/sms/describePhoneNumber.js";
import { sqlOutbox } from "./storage/sql/sqlOutbox.js";
import { withRedisDeadline } from "./storage/callDeadline.js";
import { openStores, type Stores } from "./storage/stores.js";
import { RetentionPurge } from "./retention/retentionPurge.js";
import { retentionMetrics } from "./observability/retentionMetrics.js";
import { sqlRetention } from "./storage/sql/sqlRetention.js";
import { UserErasure } from "./domain/erasure/userErasure.js";
import { sqlUserRecords } from "./storage/sql/sqlUserRecords.js";

export interface App {
  /** Serves every protocol; hand it to an HTTP/1.1 or HTTP/2 server. */
  readonly handler: RequestHandler;
  /** Answers a request on a connection past MAX_CONNECTIONS: refused in the caller's protocol. */
  readonly overCapacity: RequestHandler;
  readonly health: HealthStatus;
  readonly calls: CallGate;
  readonly stores: Stores;
  readonly delivery: Delivery;
  readonly templates: TemplateRenderer;
  readonly metrics: Metrics;
  /** Deletes what has aged out (see docs/operations.md, "What is kept, and for how long"); started by start(). */
  readonly retention: RetentionPurge;
  /** Starts background work (the relays, the retention purge); call once the server is listening. */
  start(): void;
  /** Aborts every running handler's `context.signal`: the last step of a drain that timed out. */
  abortCalls(): void;
  /** Set only when auth runs in development mode: tokens to show the developer. */
  readonly development?: DevelopmentCredentials;
  /** Stops background work, then releases channels and stores; call after the server has drained. */
  close(): Promise<void>;
}

/** onetime's own services: what reflection lists and health reports on. */
export const onetimeServices: readonly DescService[] = [TokenService, VerificationService, AccountTokenService];

/**
 * The one place onetime is wired: stores, auth, services, interceptors. No listening here, so
 * tests can serve the same app from port 0 or call it in memory.
 */
export interface AppOptions {
  /** The clock TOTP codes are checked against; tests set it to replay RFC vectors. */
  readonly now?: () => number;
  /** Where the console channel prints development messages. Default stderr; tests keep them quiet. */
  readonly consoleOutput?: (text: string) => void;
}

export async function buildApp(config: Config, logger: Logger, options: AppOptions = {}): Promise<App> {
  // Checked before anything is opened, so a missing entry fails fast and leaks nothing.
  assertCovers(access, [...onetimeServices, Health]);
  const auth = await setUpAuth(config.auth, config.database.kind === "pglite" ? config.database.dataDir : undefined);
  const templates = await createTemplateRenderer({
    productName: config.delivery.templates.productName,
    fallbackLocale: config.delivery.templates.defaultLocale,
    overridesDir: config.delivery.templates.overridesDir,
  });
  const keys = await loadEncryptionKeys(config.delivery.encryptionKeys, config.database.kind === "pglite" ? config.database.dataDir : undefined);
  const box = createSecretBox(keys);
  const metrics = createMetrics({ processMetrics: true });
  const tracing = await startTracing(config.tracing, logger);
  const { key: serverKey, source: serverKeySource } = chooseServerKey(config.delivery, keys);
  // The secret relay is built once the channels are; until then nothing can be queued anyway.
  let secretRelay: OutboxRelay | undefined;
  const profileKeyHash = keyedHash(serverKey, "profile-key");
  const totpConsumerHash = keyedHash(serverKey, "totp-consumer");
  const stores = await openStores(config, logger, { totpConsumerHash, profileKeyHash }, {
    onSecretQueued: (shard) => secretRelay?.nudge(shard),
    spans: tracing.spans,
    metrics: metrics.stores,
  }).catch(async (error: unknown) => {
    await tracing.shutdown();
    // The store knows the key changed; only here is it known which setting the key came from.
    if (!(error instanceof KeyChangedError)) throw error;
    const dataDir = config.database.kind === "pglite" ? config.database.dataDir : undefined;
    throw new StartRefused(serverKeyChangedMessage(serverKeySource, keys[0]!.id, dataDir), { cause: error });
  });
  const consoleOutput = options.consoleOutput ?? ((text: string) => void process.stderr.write(text));
  const channels = await channelsFromConfig(config.delivery, logger, consoleOutput).catch(async (error: unknown) => {
    await stores.close();
    await tracing.shutdown();
    throw error;
  });
  const sender = new Sender(channels, logger, metrics, tracing.spans);
  const outbox = sqlOutbox(stores.db);
  const relayOptions = {
    batchSize: config.delivery.outbox.batchSize,
    pollIntervalMs: config.delivery.outbox.pollIntervalMs,
    sendTimeoutMs: config.delivery.sendTimeoutMs,
    retry: defaultRetryPolicy,
  };
  // Two queues, one relay each: messages of Postgres records wait in the outbox, messages of
  // pending secrets beside their secrets (see docs/channels.md, "Where a message waits").
  const relay = new OutboxRelay(outbox, box, sender, logger, relayOptions);
  secretRelay = new OutboxRelay(stores.secretMessages, box, sender, logger, { ...relayOptions, queueName: "secrets" });
  const relays = [relay, secretRelay];
  registerQueueMetrics(metrics.registry, { outbox, secrets: stores.secretMessages }, logger);
  const delivery = createDelivery({ outbox, relay, sender, box, maxAttempts: config.delivery.outbox.maxAttempts });
  const refusals = refusalMetrics(metrics.registry, logger);
  const secrets = new OneTimeSecrets({
    pending: stores.secrets,
    limits: stores.limits,
    box,
    codeHash: keyedHash(serverKey, "verification-code"),
    recipientScope: keyedHash(serverKey, "consumer-scope", 16),
    requestHash: keyedHash(serverKey, "idempotent-request"),
    delivery,
    traffic: new TrafficPolicy(config.traffic, describePhoneNumber, keyedHash(serverKey, "number-prefix", 16)),
    refusals,
    logger,
    ...(options.now === undefined ? {} : { now: options.now }),
  });
  const verifications = new Verifications({
    secrets,
    totpSecrets: stores.totpSecrets,
    box,
    delivery,
    templates,
    rules: config.verification,
    events: verificationEventLog(logger, metrics),
    logger,
    ...(options.now === undefined ? {} : { now: options.now }),
  });
  const profileStore = sqlSecurityProfiles(stores.db, box, profileKeyHash, outbox);
  // One CAPTCHA for both services that ask public callers for an answer.
  const captchaConfig = config.accountTokens.captcha;
  const captcha =
    captchaConfig === undefined
      ? undefined
      : captchaConfig.provider === "development"
        ? developmentCaptcha
        : siteverifyCaptcha({ ...captchaConfig, timeoutMs: config.delivery.sendTimeoutMs, logger });
  // One keyed hash for every per-caller limit (addresses, user ids): each limiter names its own
  // windows (see ClientLimits).
  const callerHash = keyedHash(serverKey, "client-limit", 16);
  const profileTokens = new ProfileTokens({
    secrets,
    profiles: profileStore,
    delivery,
    templates,
    ...(captcha === undefined ? {} : { captcha }),
    rules: config.tokens,
    clientLimits: new ClientLimits(stores.limits, callerHash, "profile-tokens", config.tokens.client, refusals),
    reportHash: keyedHash(serverKey, "factor-change-report"),
    logger,
  });
  const securityProfiles = new SecurityProfiles(profileStore);
  const accountTokens = new AccountTokens({
    store: stores.accountTokens,
    clientLimits: new ClientLimits(stores.limits, callerHash, "account-tokens", config.accountTokens.client, refusals),
    tokenHash: keyedHash(serverKey, "account-token"),
    deviceHash: keyedHash(serverKey, "push-device"),
    ...(captcha === undefined ? {} : { captcha }),
    delivery,
    templates,
    signals: stores.authTokenSignals,
    rules: {
      ttlMs: config.accountTokens.ttlMs,
      device: config.accountTokens.device,
      pushTimeoutMs: config.delivery.sendTimeoutMs,
      ...(config.delivery.apns === undefined ? {} : { apnsTopics: { default: config.delivery.apns.topic, allowed: config.delivery.apns.allowedTopics } }),
    },
    logger,
  });
  const erasure = new UserErasure({ records: sqlUserRecords(stores.db, totpConsumerHash), secrets, logger });
  // One purge per instance, one round at a time across all of them (an advisory lock in the store).
  const retention = new RetentionPurge(
    sqlRetention(stores.db, { schema: config.database.schema, addressHash: keyedHash(serverKey, "audit-address", 16) }),
    config.retention,
    retentionMetrics(metrics.registry),
    logger,
  );
  const health = new HealthStatus(onetimeServices.map((service) => service.typeName));
  // Health stays callable while draining, so probes read NOT_SERVING rather than an error.
  const calls = new CallGate(new Set([Health.typeName]));
  const shutdown = new AbortController();
  // Every call in flight listens to it (Connect links each handler's signal to it), and watches
  // stay in flight for minutes, a thousand at once: no listener count is a leak here.
  setMaxListeners(0, shutdown.signal);

  const edge = createRpcEdge({
    logger,
    metrics: metrics.rpcs,
    maxRequestBytes: config.limits.maxRequestBytes,
    services: [...onetimeServices, Health].map((service) => service.typeName),
  });
  const routes = (router: ConnectRouter) => {
    registerHealth(router, health);
    registerVerificationService(router, verifications);
    registerTokenService(router, profileTokens, securityProfiles, erasure);
    registerAccountTokenService(router, accountTokens);
    // Services with RPCs register here as they land; reflection describes whatever is listed.
    registerReflection(router, [...onetimeServices, Health]);
    edge.guardHandlers(router);
  };

  const clientValues = clientContextValues(config.clientAddress);
  const handler = connectNodeAdapter({
    ...wireFormat(routes),
    // First is outermost: the log sees every outcome, the boundary shapes every error, and the
    // gate refuses new calls while draining before any credentials are checked.
    interceptors: [
      requestLog(logger, metrics.rpcs),
      rpcSpans(tracing.spans),
      errorBoundary,
      calls.interceptor,
      // Before authentication: a stream over the limit is refused whoever calls.
      watchStreams(config.watchStreams),
      authInterceptor(auth.verifier, access),
      // Before the field rules: a string that is not UTF-8 is refused as that, not as too long.
      wellFormedStrings,
      createValidateInterceptor(),
      ...(config.shortLivedStore.kind === "redis" ? [redisDeadline(config.shortLivedStore.timeoutMs, withRedisDeadline)] : []),
    ],
    readMaxBytes: connectReadMaxBytes(config.limits.maxRequestBytes),
    fallback: edge.unknownPath,
    writeMaxBytes: config.limits.maxResponseBytes,
    contextValues: (request) => clientValues(request).set(connectionKey, connectionOf(request)),
    shutdownSignal: shutdown.signal,
  });

  return {
    // No /metrics here: the API port is public, and metrics are served on their own (see server.ts).
    handler: withCors(config.corsOrigins, handler),
    overCapacity: edge.refuseWith(
      new CapacityLimitReached(
        "CONNECTION_LIMIT_REACHED",
        `this server process holds ${config.listen.maxConnections} connections, as many as MAX_CONNECTIONS allows: retry later, or on another instance`,
      ),
    ),
    health,
    calls,
    stores,
    delivery,
    templates,
    metrics,
    retention,
    start: () => {
      relays.forEach((each) => each.start());
      retention.start();
    },
    abortCalls: () => shutdown.abort(),
    ...(auth.development === undefined ? {} : { development: auth.development }),
    async close() {
      await Promise.all([...relays.map((each) => each.stop()), retention.stop()]);
      await channels.close();
      await stores.close();
      // Last: the spans of everything above are exported before the process goes.
      await tracing.shutdown();
    },
  };
}
