import * as http from "node:http";
import type { Duplex } from "node:stream";
import {
  create,
  fromJsonString,
  toJsonString,
  type DescMessage,
  type DescMethod,
  type JsonValue,
  type MessageInitShape,
  type MessageShape,
} from "@bufbuild/protobuf";
import { Code, ConnectError, createClient, type Interceptor, type Transport } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { Health, HealthCheckResponse_ServingStatus } from "../../gen/grpc/health/v1/health_pb.js";
import { TokenService } from "../../gen/onetime/v1/token_service_pb.js";
import { VerificationService } from "../../gen/onetime/v1/verification_service_pb.js";
import { AccountTokenService } from "../../gen/onetime/v1/account_token_service_pb.js";
import type { AccountTokenCalls } from "./accountTokenCalls.js";
import { callDeadlineMs, type BenchClient, type ClientPool } from "./types.js";

/**
 * Connect binary over HTTP/2 (h2c) through the official client, `createConnectTransport` of
 * @connectrpc/connect-node: one transport, so one HTTP/2 connection, per client.
 */
export function connectBinaryH2Pool(baseUrl: string, token: string, connections: number, userToken: string): ClientPool {
  const transports = Array.from({ length: connections }, () =>
    createConnectTransport({ baseUrl, httpVersion: "2", useBinaryFormat: true, interceptors: [bearer(token)], defaultTimeoutMs: callDeadlineMs }),
  );
  // Account token calls go without the service token (public) or with the user's: a transport of their own.
  const accountTransports = Array.from({ length: connections }, () =>
    createConnectTransport({ baseUrl, httpVersion: "2", useBinaryFormat: true, defaultTimeoutMs: callDeadlineMs }),
  );
  return {
    protocol: "connect-binary-h2",
    clients: transports.map((transport, i) => connectClient(transport, accountTransports[i]!, userToken)),
    plannedConnections: connections,
    connectionsOpened: () => undefined,
    // The session manager closes an idle connection by itself; nothing is left to await.
    async close() {},
  };
}

/**
 * Connect JSON over HTTP/1.1 with keep-alive, as a lean hand-written client of the Connect
 * protocol's unary calls on node:http (https://connectrpc.com/docs/protocol/#unary-request).
 *
 * Why not `createConnectTransport({ httpVersion: "1.1" })`: measured on a 2-core machine, the
 * official transport cost the bench process 80-90% of a core, more CPU than the server it was
 * loading, so it measured the client. This one sends the same bytes a Connect client sends (the
 * body is protobuf-es `toJsonString` of the generated schema, the headers the protocol asks for)
 * and decodes answers the same way (`fromJsonString`, Connect's error JSON into a ConnectError),
 * without the transport's generic machinery (Headers objects, async-iterable bodies,
 * interceptor chain, compression negotiation).
 *
 * `connections` clients share one agent capped at that many sockets, so each of the load
 * generator's loops keeps reusing a warm connection; the agent counts the sockets it opens, to
 * show that they are reused rather than reopened.
 */
export function connectJsonH1Pool(baseUrl: string, token: string, connections: number, userToken: string): ClientPool {
  const agent = new CountingAgent({ keepAlive: true, maxSockets: connections, maxFreeSockets: connections });
  const url = new URL(baseUrl);
  const target: JsonTarget = {
    agent,
    host: url.hostname,
    port: url.port === "" ? 80 : Number(url.port),
    authorization: `Bearer ${token}`,
  };
  const check = jsonUnary(target, Health.method.check);
  const initiate = jsonUnary(target, VerificationService.method.initiateVerification);
  const validate = jsonUnary(target, VerificationService.method.validateVerification);
  const client: BenchClient = {
    async check() {
      const answer = await check({ service: "" });
      if (answer.status !== HealthCheckResponse_ServingStatus.SERVING) throw new Error(`health status ${answer.status}`);
    },
    initiate,
    validate,
    requestRegistrationToken: jsonUnary(target, TokenService.method.requestRegistrationToken),
    consumeToken: jsonUnary(target, TokenService.method.consumeToken),
    accountTokens: jsonAccountTokenCalls({ ...target, authorization: "" }, { ...target, authorization: `Bearer ${userToken}` }),
  };
  return {
    protocol: "connect-json-h1",
    clients: Array.from({ length: connections }, () => client),
    plannedConnections: connections,
    connectionsOpened: () => agent.opened,
    async close() {
      agent.destroy();
    },
  };
}

class CountingAgent extends http.Agent {
  opened = 0;
  override createConnection(options: http.ClientRequestArgs, callback?: (error: Error | null, stream: Duplex) => void): Duplex | null | undefined {
    this.opened++;
    return super.createConnection(options, callback);
  }
}

interface JsonTarget {
  readonly agent: http.Agent;
  readonly host: string;
  readonly port: number;
  readonly authorization: string;
}

/** As a Connect client reads JSON answers: fields this client's schema does not know are ignored. */
const jsonReadOptions = { ignoreUnknownFields: true };
const deadlineHeader = String(callDeadlineMs);

/**
 * One unary RPC as Connect JSON: POST /<service>/<method>, the request message as JSON, and either
 * 200 with the response message as JSON or an error status with Connect's error JSON.
 */
function jsonUnary<I extends DescMessage, O extends DescMessage>(
  target: JsonTarget,
  method: DescMethod & { readonly methodKind: "unary"; readonly input: I; readonly output: O },
): (request: MessageInitShape<I>) => Promise<MessageShape<O>> {
  const path = `/${method.parent.typeName}/${method.name}`;
  return (init) =>
    new Promise<MessageShape<O>>((resolve, reject) => {
      const body = toJsonString(method.input, create(method.input, init));
      let settled = false;
      const fail = (error: unknown) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        reject(error);
      };
      const request = http.request(
        {
          agent: target.agent,
          host: target.host,
          port: target.port,
          method: "POST",
          path,
          headers: {
            "content-type": "application/json",
            "content-length": Buffer.byteLength(body),
            "connect-protocol-version": "1",
            "connect-timeout-ms": deadlineHeader,
            ...(target.authorization === "" ? {} : { authorization: target.authorization }),
          },
        },
        (response) => {
          let text = "";
          response.setEncoding("utf8");
          response.on("data", (chunk: string) => (text += chunk));
          response.on("error", fail);
          response.on("end", () => {
            if (settled) return;
            let outcome: { ok: true; message: MessageShape<O> } | { ok: false; error: ConnectError };
            try {
              outcome =
                response.statusCode === 200
                  ? { ok: true, message: fromJsonString(method.output, text, jsonReadOptions) }
                  : { ok: false, error: errorFromResponse(response, text) };
            } catch (error) {
              outcome = { ok: false, error: new ConnectError(`${path}: cannot parse the answer: ${String(error)}`, Code.Internal) };
            }
            settled = true;
            clearTimeout(timer);
            if (outcome.ok) resolve(outcome.message);
            else reject(outcome.error);
          });
        },
      );
      // The deadline, enforced here as well as announced: the call gives up after it, whatever
      // the server does (the socket is dropped, the agent opens a new one for the next call).
      const timer = setTimeout(() => {
        fail(new ConnectError(`${path}: the operation timed out after ${callDeadlineMs} ms`, Code.DeadlineExceeded));
        request.destroy();
      }, callDeadlineMs);
      request.on("error", (error) => fail(error instanceof ConnectError ? error : new ConnectError(`${path}: ${error.message}`, Code.Unavailable, undefined, undefined, error)));
      request.end(body);
    });
}

/**
 * Connect's error JSON, `{"code": "invalid_argument", "message": "...", "details": [{"type",
 * "value" (base64), "debug"}]}`, as a ConnectError with its details in the shape Connect's own
 * client gives them (type name + bytes), so `findDetails(ErrorInfoSchema)` finds the reason.
 * Without a readable body, the code follows from the HTTP status as the protocol says.
 */
function errorFromResponse(response: http.IncomingMessage, text: string): ConnectError {
  const status = response.statusCode ?? 0;
  const fallback = () => new ConnectError(`HTTP ${status}${text === "" ? "" : `: ${text.slice(0, 200)}`}`, codeFromHttpStatus(status));
  if (!(response.headers["content-type"] ?? "").startsWith("application/json")) return fallback();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return fallback();
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) return fallback();
  const { code, message, details } = json as { code?: unknown; message?: unknown; details?: unknown };
  const error = new ConnectError(
    typeof message === "string" ? message : "",
    (typeof code === "string" ? codeFromString.get(code) : undefined) ?? codeFromHttpStatus(status),
  );
  if (Array.isArray(details)) {
    for (const detail of details as unknown[]) {
      if (typeof detail !== "object" || detail === null) continue;
      const { type, value, debug } = detail as { type?: unknown; value?: unknown; debug?: unknown };
      if (typeof type !== "string" || typeof value !== "string") continue;
      // Base64, standard or URL alphabet, padded or not: Buffer reads all four.
      const bytes = Buffer.from(value, "base64");
      error.details.push({ type, value: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), ...(debug === undefined ? {} : { debug: debug as JsonValue }) });
    }
  }
  return error;
}

/** Connect's code names: the Code enum's names in snake case ("InvalidArgument" -> "invalid_argument"). */
const codeFromString: ReadonlyMap<string, Code> = new Map(
  Object.values(Code)
    .filter((value): value is Code => typeof value === "number")
    .map((value) => [Code[value].replace(/^[A-Z]/, (c) => c.toLowerCase()).replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`), value]),
);

/** https://connectrpc.com/docs/protocol/#http-to-error-code */
function codeFromHttpStatus(status: number): Code {
  switch (status) {
    case 400:
      return Code.Internal;
    case 401:
      return Code.Unauthenticated;
    case 403:
      return Code.PermissionDenied;
    case 404:
      return Code.Unimplemented;
    case 429:
    case 502:
    case 503:
    case 504:
      return Code.Unavailable;
    default:
      return Code.Unknown;
  }
}

function bearer(token: string): Interceptor {
  const value = `Bearer ${token}`;
  return (next) => (request) => {
    request.header.set("authorization", value);
    return next(request);
  };
}

function jsonAccountTokenCalls(anyone: JsonTarget, signedIn: JsonTarget): AccountTokenCalls {
  const method = AccountTokenService.method;
  const createRequestToken = jsonUnary(anyone, method.createAccountCreationRequestToken);
  const createAuthToken = jsonUnary(anyone, method.createAuthToken);
  return {
    createRequestToken: () => createRequestToken({}),
    validateRequestToken: jsonUnary(anyone, method.validateAccountCreationRequestToken),
    createFromRequestToken: jsonUnary(anyone, method.createAccountCreationTokenFromRequestToken),
    consume: jsonUnary(signedIn, method.consumeAccountCreationToken),
    createAuthToken: () => createAuthToken({}),
    attach: jsonUnary(signedIn, method.attachAuthToken),
    redeem: jsonUnary(anyone, method.redeemAuthToken),
  };
}

function connectClient(transport: Transport, accountTransport: Transport, userToken: string): BenchClient {
  const health = createClient(Health, transport);
  const verifications = createClient(VerificationService, transport);
  const tokens = createClient(TokenService, transport);
  const accounts = createClient(AccountTokenService, accountTransport);
  const asUser = { headers: { authorization: `Bearer ${userToken}` } };
  return {
    async check() {
      const answer = await health.check({ service: "" });
      if (answer.status !== HealthCheckResponse_ServingStatus.SERVING) throw new Error(`health status ${answer.status}`);
    },
    initiate: (request) => verifications.initiateVerification(request),
    validate: (request) => verifications.validateVerification(request),
    requestRegistrationToken: (request) => tokens.requestRegistrationToken(request),
    consumeToken: (request) => tokens.consumeToken(request),
    accountTokens: {
      createRequestToken: () => accounts.createAccountCreationRequestToken({}),
      validateRequestToken: (request) => accounts.validateAccountCreationRequestToken(request),
      createFromRequestToken: (request) => accounts.createAccountCreationTokenFromRequestToken(request),
      consume: (request) => accounts.consumeAccountCreationToken(request, asUser),
      createAuthToken: () => accounts.createAuthToken({}),
      attach: (request) => accounts.attachAuthToken(request, asUser),
      redeem: (request) => accounts.redeemAuthToken(request),
    },
  };
}
