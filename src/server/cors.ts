import type { IncomingMessage, ServerResponse } from "node:http";
import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";
import { cors as connectCors } from "@connectrpc/connect";
import cors from "cors";

type Request = IncomingMessage | Http2ServerRequest;
type Response = ServerResponse | Http2ServerResponse;
export type RequestHandler = (request: Request, response: Response) => void;

/**
 * Lets the configured browser origins call every protocol (Connect and gRPC-Web), with the
 * header lists Connect documents. Other origins get no CORS headers, so browsers block them;
 * non-browser callers send no Origin and are unaffected.
 */
export function withCors(origins: readonly string[], handler: RequestHandler): RequestHandler {
  if (origins.length === 0) return handler;
  const middleware = cors({
    origin: [...origins],
    methods: [...connectCors.allowedMethods],
    allowedHeaders: [...connectCors.allowedHeaders, "Authorization", "X-Request-Id"],
    exposedHeaders: [...connectCors.exposedHeaders, "X-Request-Id"],
    // Browsers cap this anyway (Chromium at 2 h); it saves a preflight per call.
    maxAge: 7200,
  });
  return (request, response) => {
    // The cors package is typed for node:http but only uses the API the HTTP/2 compat layer shares.
    middleware(request as IncomingMessage, response as ServerResponse, () => handler(request, response));
  };
}
