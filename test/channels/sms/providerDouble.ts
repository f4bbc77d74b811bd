import { createServer, type IncomingHttpHeaders, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { createLogger, type Logger } from "../../../src/observability/logger.js";

export interface RecordedRequest {
  readonly method: string;
  /** Path and query, as the provider saw them. */
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

export type ProviderHandler = (request: RecordedRequest, response: ServerResponse) => void;

export interface ProviderDouble {
  /** `http://127.0.0.1:{port}`, no trailing slash. */
  readonly origin: string;
  readonly requests: RecordedRequest[];
  /** What the next requests get; until called, 201 with an empty JSON object. */
  answerWith(handler: ProviderHandler): void;
  close(): Promise<void>;
}

/** A real HTTP server on 127.0.0.1:0 standing in for an SMS provider: records every request. */
export async function startProviderDouble(): Promise<ProviderDouble> {
  const requests: RecordedRequest[] = [];
  let handler: ProviderHandler = (_request, response) => json(response, 201, {});
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      const recorded: RecordedRequest = {
        method: request.method ?? "",
        url: request.url ?? "",
        headers: request.headers,
        body: Buffer.concat(chunks).toString("utf8"),
      };
      requests.push(recorded);
      handler(recorded, response);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    requests,
    answerWith(next) {
      handler = next;
    },
    close: () =>
      new Promise<void>((resolve) => {
        // Requests left hanging on purpose (timeout tests) and keep-alive sockets would hold close().
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export function json(
  response: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  response.writeHead(status, { "content-type": "application/json", ...headers });
  response.end(JSON.stringify(body));
}

/** An origin nothing listens on: bound once to get a free port, then closed. */
export async function refusingOrigin(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}

/** A real pino logger whose lines the test can read. */
export function capturingLogger(): { logger: Logger; lines: () => Array<Record<string, unknown>> } {
  const written: string[] = [];
  const logger = createLogger("warn", { write: (line: string) => void written.push(line) });
  return { logger, lines: () => written.map((line) => JSON.parse(line) as Record<string, unknown>) };
}

export const neverAborted = (): AbortSignal => new AbortController().signal;
