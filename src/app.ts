import { setMaxListeners } from "node:events";
import { Health } from "../gen/grpc/health/v1/health_pb.js";
import { access, assertCovers } from "./auth/access.js";
import { setUpAuth } from "./auth/authSetup.js";
import type { DevelopmentCredentials } from "./auth/developmentCredentials.js";
import { channelsFromConfig } from "./channels/channelsFromConfig.js";
import { createTemplateRenderer } from "./channels/templates/index.js";
import { testDestinations } from "./channels/testMode/testDestinations.js";
import { testModeChannels } from "./channels/testMode/testModeChannels.js";
import type { TemplateRenderer } from "./domain/messages/messageTemplates.js";
import type { Config } from "./config/config.js";
import { loadEncryptionKeys } from "./crypto/encryptionKeys.js";
import { createSecretBox } from "./crypto/secretBox.js";
import { chooseServerKey, serverKeyChangedMessage } from "./crypto/serverKey.js";
import { createDelivery, type Delivery } from "./delivery/delivery.js";
import { OutboxRelay } from "./delivery/outboxRelay.js";
import { defaultRetryPolicy } from "./delivery/retryPolicy.js";
import { Sender } from "./delivery/sender.js";
import { StartRefused } from "./errors/startRefused.js";
import type { Logger } from "./observability/logger.js";
import { createMetrics, type Metrics } from "./observability/metrics.js";
import { registerQueueMetrics } from "./observability/queueMetrics.js";
import { refusalMetrics } from "./observability/refusalMetrics.js";
import { retentionMetrics } from "./observability/retentionMetrics.js";
import { startTracing } from "./observability/tracing.js";
import { verificationEventLog } from "./observability/verificationEventLog.js";
import { RetentionPurge } from "./retention/retentionPurge.js";
import { HealthStatus } from "./rpc/health/healthStatus.js";
import { CallGate } from "./rpc/interceptors/callGate.js";
import { withCors, type RequestHandler } from "./server/cors.js";
import { KeyChangedError } from "./storage/sql/keyGuard.js";
import { openStores, storeKeys, type Stores } from "./storage/stores.js";
import { buildDomain, domainHashes } from "./wiring/domain.js";
import { buildRoutes, onetimeServices, servedServices, testModeServices } from "./wiring/routes.js";

export { onetimeServices };

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

export interface AppOptions {
  /** The clock TOTP codes are checked against; tests set it to replay RFC vectors. */
  readonly now?: () => number;
  /** Where the console channel prints development messages. Default stderr; tests keep them quiet. */
  readonly consoleOutput?: (text: string) => void;
}

/**
 * The one place onetime is wired: stores (storage/stores.ts), the domain (wiring/domain.ts) and
 * the routes (wiring/routes.ts), with what runs beside them. No listening here, so tests can serve
 * the same app from port 0 or call it in memory.
 */
export async function buildApp(config: Config, logger: Logger, options: AppOptions = {}): Promise<App> {
  // Checked before anything is opened, so a missing entry fails fast and leaks nothing.
  assertCovers(access, [...servedServices, ...testModeServices]);
  const dataDir = config.database.kind === "pglite" ? config.database.dataDir : undefined;
  const auth = await setUpAuth(config.auth, dataDir);
  const templates = await createTemplateRenderer({
    productName: config.delivery.templates.productName,
    fallbackLocale: config.delivery.templates.defaultLocale,
    overridesDir: config.delivery.templates.overridesDir,
  });
  const keys = await loadEncryptionKeys(config.delivery.encryptionKeys, dataDir);
  const box = createSecretBox(keys);
  const metrics = createMetrics({ processMetrics: true });
  const tracing = await startTracing(config.tracing, logger);
  const { key: serverKey, source: serverKeySource } = chooseServerKey(config.delivery, keys);
  // The secret relay is built once the channels are; until then nothing can be queued anyway.
  let secretRelay: OutboxRelay | undefined;
  const stores = await openStores(config, logger, storeKeys(serverKey, box), {
    onSecretQueued: (shard) => secretRelay?.nudge(shard),
    spans: tracing.spans,
    metrics: metrics.stores,
  }).catch(async (error: unknown) => {
    await tracing.shutdown();
    // The store knows the key changed; only here is it known which setting the key came from.
    if (!(error instanceof KeyChangedError)) throw error;
    throw new StartRefused(serverKeyChangedMessage(serverKeySource, keys[0]!.id, dataDir), { cause: error });
  });
  const consoleOutput = options.consoleOutput ?? ((text: string) => void process.stderr.write(text));
  const providerChannels = await channelsFromConfig(config.delivery, logger, consoleOutput).catch(async (error: unknown) => {
    await stores.close();
    await tracing.shutdown();
    throw error;
  });
  // Test mode keeps test destinations' messages in its inbox; every other one goes out as without it.
  const channels =
    config.testMode === undefined || stores.testInbox === undefined
      ? providerChannels
      : testModeChannels(providerChannels, testDestinations(config.testMode), stores.testInbox);
  if (config.testMode !== undefined) {
    // Said once at start: a staging server in test mode should never be mistaken for one that sends everything.
    logger.warn({ ...config.testMode }, "test mode is on: messages to test destinations are kept in the test inbox, not sent (docs/test-mode.md)");
  }
  const sender = new Sender(channels, logger, metrics, tracing.spans);
  const relayOptions = {
    batchSize: config.delivery.outbox.batchSize,
    pollIntervalMs: config.delivery.outbox.pollIntervalMs,
    sendTimeoutMs: config.delivery.sendTimeoutMs,
    retry: defaultRetryPolicy,
  };
  // Two queues, one relay each: messages of Postgres records wait in the outbox, messages of
  // pending secrets beside their secrets (see docs/channels.md, "Where a message waits").
  const relay = new OutboxRelay(stores.outbox, box, sender, logger, relayOptions);
  secretRelay = new OutboxRelay(stores.secretMessages, box, sender, logger, { ...relayOptions, queueName: "secrets" });
  const relays = [relay, secretRelay];
  registerQueueMetrics(metrics.registry, { outbox: stores.outbox, secrets: stores.secretMessages }, logger);
  const delivery = createDelivery({ outbox: stores.outbox, relay, sender, box, maxAttempts: config.delivery.outbox.maxAttempts });
  const domain = buildDomain(config, {
    stores,
    box,
    hashes: domainHashes(serverKey),
    delivery,
    templates,
    refusals: refusalMetrics(metrics.registry, logger),
    events: verificationEventLog(logger, metrics),
    logger,
    ...(options.now === undefined ? {} : { now: options.now }),
  });
  // One purge per instance, one round at a time across all of them (an advisory lock in the store).
  const retention = new RetentionPurge(stores.retention, config.retention, retentionMetrics(metrics.registry), logger);
  const health = new HealthStatus(onetimeServices.map((service) => service.typeName));
  // Health stays callable while draining, so probes read NOT_SERVING rather than an error.
  const calls = new CallGate(new Set([Health.typeName]));
  const shutdown = new AbortController();
  // Every call in flight listens to it (Connect links each handler's signal to it), and watches
  // stay in flight for minutes, a thousand at once: no listener count is a leak here.
  setMaxListeners(0, shutdown.signal);
  const routes = buildRoutes(config, {
    domain,
    verifier: auth.verifier,
    health,
    calls,
    logger,
    metrics: metrics.rpcs,
    spans: tracing.spans,
    shutdown: shutdown.signal,
    ...(stores.testInbox === undefined ? {} : { testInbox: stores.testInbox }),
  });

  return {
    // No /metrics here: the API port is public, and metrics are served on their own (see server.ts).
    handler: withCors(config.corsOrigins, routes.handler, logger),
    overCapacity: routes.overCapacity,
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
