import { create, fromBinary, toBinary, type DescMessage, type MessageInitShape, type MessageShape } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import {
  HealthCheckRequestSchema,
  HealthCheckResponse_ServingStatus,
  HealthCheckResponseSchema,
} from "../../gen/grpc/health/v1/health_pb.js";
import {
  InitiateVerificationRequestSchema,
  InitiateVerificationResponseSchema,
  ValidateVerificationRequestSchema,
  ValidateVerificationResponseSchema,
} from "../../gen/onetime/v1/verification_service_pb.js";
import {
  ConsumeTokenRequestSchema,
  ConsumeTokenResponseSchema,
  RequestRegistrationTokenRequestSchema,
  RequestRegistrationTokenResponseSchema,
} from "../../gen/onetime/v1/token_service_pb.js";
import * as accounts from "../../gen/onetime/v1/account_token_service_pb.js";
import { callDeadlineMs, type BenchClient, type ClientPool } from "./types.js";

/**
 * gRPC over h2c through @grpc/grpc-js: a gRPC stack that is not Connect's, with protobuf-es doing
 * the (de)serialisation of the generated schemas. Each client has its own channel and connection
 * (a local subchannel pool; grpc-js would otherwise share one connection between all clients).
 */
export function grpcPool(baseUrl: string, token: string, connections: number, userToken: string): ClientPool {
  const target = new URL(baseUrl).host;
  const channels = Array.from({ length: connections }, () =>
    new grpc.Client(target, grpc.credentials.createInsecure(), { "grpc.use_local_subchannel_pool": 1 }),
  );
  const metadata = new grpc.Metadata();
  metadata.set("authorization", `Bearer ${token}`);
  const userMetadata = new grpc.Metadata();
  userMetadata.set("authorization", `Bearer ${userToken}`);
  return {
    protocol: "grpc",
    clients: channels.map((channel) => grpcClient(channel, { service: metadata, user: userMetadata, public: new grpc.Metadata() })),
    plannedConnections: connections,
    connectionsOpened: () => undefined,
    async close() {
      for (const channel of channels) channel.close();
    },
  };
}

function grpcClient(channel: grpc.Client, callers: Record<"service" | "user" | "public", grpc.Metadata>): BenchClient {
  const unary = <I extends DescMessage, O extends DescMessage>(path: string, input: I, output: O, metadata = callers.service) => {
    const serialize = (message: MessageInitShape<I>) => Buffer.from(toBinary(input, create(input, message)));
    const deserialize = (bytes: Buffer): MessageShape<O> => fromBinary(output, bytes);
    return (request: MessageInitShape<I>) =>
      new Promise<MessageShape<O>>((resolve, reject) => {
        channel.makeUnaryRequest(path, serialize, deserialize, request, metadata, { deadline: Date.now() + callDeadlineMs }, (error, response) => {
          if (error !== null) reject(error);
          else if (response === undefined) reject(new Error(`${path}: no response message`));
          else resolve(response);
        });
      });
  };
  const check = unary("/grpc.health.v1.Health/Check", HealthCheckRequestSchema, HealthCheckResponseSchema);
  return {
    async check() {
      const answer = await check({ service: "" });
      if (answer.status !== HealthCheckResponse_ServingStatus.SERVING) throw new Error(`health status ${answer.status}`);
    },
    initiate: unary("/onetime.v1.VerificationService/InitiateVerification", InitiateVerificationRequestSchema, InitiateVerificationResponseSchema),
    validate: unary("/onetime.v1.VerificationService/ValidateVerification", ValidateVerificationRequestSchema, ValidateVerificationResponseSchema),
    requestRegistrationToken: unary("/onetime.v1.TokenService/RequestRegistrationToken", RequestRegistrationTokenRequestSchema, RequestRegistrationTokenResponseSchema),
    consumeToken: unary("/onetime.v1.TokenService/ConsumeToken", ConsumeTokenRequestSchema, ConsumeTokenResponseSchema),
    accountTokens: accountTokenCalls(unary, callers),
  };
}

type Unary = <I extends DescMessage, O extends DescMessage>(
  path: string,
  input: I,
  output: O,
  metadata?: grpc.Metadata,
) => (request: MessageInitShape<I>) => Promise<MessageShape<O>>;

function accountTokenCalls(unary: Unary, callers: Record<"user" | "public", grpc.Metadata>): BenchClient["accountTokens"] {
  const rpc = <I extends DescMessage, O extends DescMessage>(name: string, input: I, output: O, caller: "user" | "public" = "public") =>
    unary(`/${accounts.AccountTokenService.typeName}/${name}`, input, output, callers[caller]);
  const createRequestToken = rpc("CreateAccountCreationRequestToken", accounts.CreateAccountCreationRequestTokenRequestSchema, accounts.CreateAccountCreationRequestTokenResponseSchema);
  const createAuthToken = rpc("CreateAuthToken", accounts.CreateAuthTokenRequestSchema, accounts.CreateAuthTokenResponseSchema);
  return {
    createRequestToken: () => createRequestToken({}),
    validateRequestToken: rpc("ValidateAccountCreationRequestToken", accounts.ValidateAccountCreationRequestTokenRequestSchema, accounts.ValidateAccountCreationRequestTokenResponseSchema),
    createFromRequestToken: rpc(
      "CreateAccountCreationTokenFromRequestToken",
      accounts.CreateAccountCreationTokenFromRequestTokenRequestSchema,
      accounts.CreateAccountCreationTokenFromRequestTokenResponseSchema,
    ),
    consume: rpc("ConsumeAccountCreationToken", accounts.ConsumeAccountCreationTokenRequestSchema, accounts.ConsumeAccountCreationTokenResponseSchema, "user"),
    createAuthToken: () => createAuthToken({}),
    attach: rpc("AttachAuthToken", accounts.AttachAuthTokenRequestSchema, accounts.AttachAuthTokenResponseSchema, "user"),
    redeem: rpc("RedeemAuthToken", accounts.RedeemAuthTokenRequestSchema, accounts.RedeemAuthTokenResponseSchema),
  };
}
