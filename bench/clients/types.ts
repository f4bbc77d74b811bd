import type { MessageInitShape } from "@bufbuild/protobuf";
import type {
  InitiateVerificationRequestSchema,
  InitiateVerificationResponse,
  ValidateVerificationRequestSchema,
  ValidateVerificationResponse,
} from "../../gen/onetime/v1/verification_service_pb.js";
import type {
  ConsumeTokenRequestSchema,
  ConsumeTokenResponse,
  RequestRegistrationTokenRequestSchema,
  RequestRegistrationTokenResponse,
} from "../../gen/onetime/v1/token_service_pb.js";
import type { AccountTokenCalls } from "./accountTokenCalls.js";

/** The three ways the bench talks to the server. */
export type Protocol = "grpc" | "connect-binary-h2" | "connect-json-h1";

export const allProtocols: readonly Protocol[] = ["grpc", "connect-binary-h2", "connect-json-h1"];

export type InitiateRequest = MessageInitShape<typeof InitiateVerificationRequestSchema>;
export type ValidateRequest = MessageInitShape<typeof ValidateVerificationRequestSchema>;
export type RegistrationTokenRequest = MessageInitShape<typeof RequestRegistrationTokenRequestSchema>;
export type ConsumeRequest = MessageInitShape<typeof ConsumeTokenRequestSchema>;

/** The RPCs the scenarios call, the same whatever the protocol underneath. */
export interface BenchClient {
  /** grpc.health.v1.Health/Check for the whole server; resolves only on SERVING. */
  check(): Promise<void>;
  initiate(request: InitiateRequest): Promise<InitiateVerificationResponse>;
  validate(request: ValidateRequest): Promise<ValidateVerificationResponse>;
  /** onetime.v1.TokenService/RequestRegistrationToken. */
  requestRegistrationToken(request: RegistrationTokenRequest): Promise<RequestRegistrationTokenResponse>;
  /** onetime.v1.TokenService/ConsumeToken. */
  consumeToken(request: ConsumeRequest): Promise<ConsumeTokenResponse>;
  readonly accountTokens: AccountTokenCalls;
}

/** The clients of one protocol; slot i of the load generator uses clients[i % length]. */
export interface ClientPool {
  readonly protocol: Protocol;
  readonly clients: readonly BenchClient[];
  /** Connections the pool was built to use (HTTP/2: one per client; HTTP/1.1: the agent's cap). */
  readonly plannedConnections: number;
  /** TCP connections actually opened so far (HTTP/1.1, to show keep-alive reuse); undefined when not tracked. */
  connectionsOpened(): number | undefined;
  close(): Promise<void>;
}

/** Every RPC the bench makes gives up after this long, so a run always ends. */
export const callDeadlineMs = 10_000;
