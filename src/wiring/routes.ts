import type { DescService } from "@bufbuild/protobuf";
import type { ConnectRouter } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { createValidateInterceptor } from "@connectrpc/validate";
import { Health } from "../../gen/grpc/health/v1/health_pb.js";
import { AccountTokenService } from "../../gen/onetime/v1/account_token_service_pb.js";
import { TestInboxService } from "../../gen/onetime/v1/test_inbox_service_pb.js";
import { TokenService } from "../../gen/onetime/v1/token_service_pb.js";
import { VerificationService } from "../../gen/onetime/v1/verification_service_pb.js";
import { access } from "../auth/access.js";
import { authInterceptor } from "../auth/authInterceptor.js";
import type { TokenVerifier } from "../auth/tokenVerifier.js";
import type { Config } from "../config/config.js";
import type { TestInbox } from "../delivery/testInbox.js";
import { CapacityLimitReached } from "../errors/domainError.js";
import type { Logger } from "../observability/logger.js";
import type { RpcMetrics } from "../observability/rpcMetrics.js";
import type { Spans } from "../observability/spans.js";
import { registerAccountTokenService } from "../rpc/accountTokens/accountTokenHandlers.js";
import { clientContextValues } from "../rpc/clientAddress.js";
import { createRpcEdge } from "../rpc/edge/rpcEdge.js";
import { connectReadMaxBytes } from "../rpc/edge/requestSizeLimit.js";
import { registerHealth } from "../rpc/health/healthService.js";
import type { HealthStatus } from "../rpc/health/healthStatus.js";
import type { CallGate } from "../rpc/interceptors/callGate.js";
import { errorBoundary } from "../rpc/interceptors/errorBoundary.js";
import { requestLog } from "../rpc/interceptors/requestLog.js";
import { rpcSpans } from "../rpc/interceptors/rpcSpans.js";
import { connectionKey, connectionOf, watchStreams } from "../rpc/interceptors/watchStreams.js";
import { wellFormedStrings } from "../rpc/interceptors/wellFormedStrings.js";
import { registerReflection } from "../rpc/reflection/reflectionService.js";
import { registerTestInboxService } from "../rpc/testInbox/testInboxHandlers.js";
import { registerTokenService } from "../rpc/tokens/tokenHandlers.js";
import { registerVerificationService } from "../rpc/verification/verificationHandlers.js";
import { wireFormat } from "../rpc/wireFormat.js";
import type { RequestHandler } from "../server/cors.js";
import type { Domain } from "./domain.js";

/** onetime's own services: what reflection lists and health reports on. */
export const onetimeServices: readonly DescService[] = [TokenService, VerificationService, AccountTokenService];

/** Every service served: onetime's own and the standard health check. */
export const servedServices: readonly DescService[] = [...onetimeServices, Health];

/** Served beside them with TEST_MODE=true only (docs/test-mode.md); answers UNIMPLEMENTED otherwise. */
export const testModeServices: readonly DescService[] = [TestInboxService];

export interface RoutesParts {
  readonly domain: Domain;
  readonly verifier: TokenVerifier;
  readonly health: HealthStatus;
  readonly calls: CallGate;
  readonly logger: Logger;
  readonly metrics: RpcMetrics;
  readonly spans: Spans;
  /** Linked to every handler's `context.signal`. */
  readonly shutdown: AbortSignal;
  /** Test mode's inbox; set only with TEST_MODE=true. */
  readonly testInbox?: TestInbox;
}

export interface Routes {
  /** Serves every protocol, before CORS. */
  readonly handler: RequestHandler;
  /** Answers a request on a connection past MAX_CONNECTIONS: refused in the caller's protocol. */
  readonly overCapacity: RequestHandler;
}

/** The Connect services over the domain, behind the edge and the interceptors every call passes. */
export function buildRoutes(config: Config, parts: RoutesParts): Routes {
  const { domain, logger, metrics } = parts;
  // Reflection and the edge name the test inbox only where it answers.
  const listed = parts.testInbox === undefined ? servedServices : [...servedServices, ...testModeServices];
  const edge = createRpcEdge({
    logger,
    metrics,
    maxRequestBytes: config.limits.maxRequestBytes,
    services: listed.map((service) => service.typeName),
  });
  const routes = (router: ConnectRouter) => {
    registerHealth(router, parts.health);
    registerVerificationService(router, domain.verifications);
    registerTokenService(router, domain.profileTokens, domain.securityProfiles, domain.erasure);
    registerAccountTokenService(router, domain.accountTokens);
    registerTestInboxService(router, parts.testInbox);
    // Services with RPCs register here as they land; reflection describes whatever is listed.
    registerReflection(router, listed);
    edge.guardHandlers(router);
  };

  const clientValues = clientContextValues(config.clientAddress);
  const handler = connectNodeAdapter({
    ...wireFormat(routes),
    // First is outermost: the log sees every outcome, the boundary shapes every error, and the
    // gate refuses new calls while draining before any credentials are checked.
    interceptors: [
      requestLog(logger, metrics),
      rpcSpans(parts.spans),
      errorBoundary,
      parts.calls.interceptor,
      // Before authentication: a stream over the limit is refused whoever calls.
      watchStreams(config.watchStreams),
      authInterceptor(parts.verifier, access),
      // Before the field rules: a string that is not UTF-8 is refused as that, not as too long.
      wellFormedStrings,
      createValidateInterceptor(),
    ],
    readMaxBytes: connectReadMaxBytes(config.limits.maxRequestBytes),
    fallback: edge.unknownPath,
    writeMaxBytes: config.limits.maxResponseBytes,
    contextValues: (request) => clientValues(request).set(connectionKey, connectionOf(request)),
    shutdownSignal: parts.shutdown,
  });
  return {
    handler,
    overCapacity: edge.refuseWith(
      new CapacityLimitReached(
        "CONNECTION_LIMIT_REACHED",
        `this server process holds ${config.listen.maxConnections} connections, as many as MAX_CONNECTIONS allows: retry later, or on another instance`,
      ),
    ),
  };
}
