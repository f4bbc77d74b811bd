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
import { callDeadlineMs, type BenchClient, type ClientPool } from "./types.js";

/**
 * gRPC over h2c through @grpc/grpc-js: a gRPC stack that is not Connect's, with protobuf-es doing
 * the (de)serialisation of the generated schemas. Each client has its own channel and connection
 * (a local subchannel pool; grpc-js would otherwise share one connection between all clients).
 */
export function grpcPool(baseUrl: string, token: string, connections: number): ClientPool {
  const target = new URL(baseUrl).host;
  const channels = Array.from({ length: connections }, () =>
    new grpc.Client(target, grpc.credentials.createInsecure(), { "grpc.use_local_subchannel_pool": 1 }),
  );
  const metadata = new grpc.Metadata();
  metadata.set("authorization", `Bearer ${token}`);
  return {
    protocol: "grpc",
    clients: channels.map((channel) => grpcClient(channel, metadata)),
    plannedConnections: connections,
    connectionsOpened: () => undefined,
    async close() {
      for (const channel of channels) channel.close();
    },
  };
}

function grpcClient(channel: grpc.Client, metadata: grpc.Metadata): BenchClient {
  const unary = <I extends DescMessage, O extends DescMessage>(path: string, input: I, output: O) => {
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
  };
}
