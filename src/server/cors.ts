import type { IncomingMessage, ServerResponse } from "node:http";
import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";
import { cors as connectCors } from "@connectrpc/connect";
import cors from "cors";
import type { Logger } from "../observability/logger.js";
import { onceEvery } from "../observability/onceEvery.js";

type Request = IncomingMessage | Http2ServerRequest;
type Response = ServerResponse | Http2ServerResponse;
export type RequestHandler = (request: Request, response: Response) => void;

/** What a browser may send and read, beyond the CORS-safelisted headers; docs/operations.md lists them. */
export const corsAllowedHeaders: readonly string[] = [...connectCors.allowedHeaders, "Authorization", "X-Request-Id"];
export const corsExposedHeaders: readonly string[] = [...connectCors.exposedHeaders, "X-Request-Id"];

/** A refused origin is warned about once per this interval, and at most this many origins per interval. */
const refusedOriginWarnEveryMs = 10 * 60_000;
const refusedOriginsWarnedPerInterval = 20;

/**
 * Lets the configured browser origins call every protocol (Connect and gRPC-Web), with the
 * header lists Connect documents. Other origins get no CORS headers, so browsers block them;
 * non-browser callers send no Origin and are unaffected. The browser tells its user only "Failed
 * to fetch", so the refusal is logged here, naming the origin and the setting.
 */
export function withCors(origins: readonly string[], handler: RequestHandler, logger: Logger, now: () => number = Date.now): RequestHandler {
  if (origins.length === 0) return handler;
  const allowed = new Set(origins);
  const firstTime = onceEvery(refusedOriginWarnEveryMs, refusedOriginsWarnedPerInterval, now);
  const middleware = cors({
    origin: [...origins],
    methods: [...connectCors.allowedMethods],
    allowedHeaders: [...corsAllowedHeaders],
    exposedHeaders: [...corsExposedHeaders],
    // Browsers cap this anyway (Chromium at 2 h); it saves a preflight per call.
    maxAge: 7200,
  });
  return (request, response) => {
    const origin = request.headers.origin;
    // The cors package matches array entries exactly, as this does.
    if (origin !== undefined && !allowed.has(origin) && firstTime(origin)) {
      logger.warn(
        { origin: origin.slice(0, 200), setting: "CORS_ORIGINS", allowedOrigins: origins, preflight: request.method === "OPTIONS" },
        "CORS: a browser origin not in CORS_ORIGINS was given no CORS headers, so the browser blocks the call (it reports only a failed fetch); add the origin, exactly as the browser sends it, to CORS_ORIGINS if it is yours",
      );
    }
    // The cors package is typed for node:http but only uses the API the HTTP/2 compat layer shares.
    middleware(request as IncomingMessage, response as ServerResponse, () => handler(request, response));
  };
}
