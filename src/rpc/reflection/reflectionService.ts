import type { DescService } from "@bufbuild/protobuf";
import type { ConnectRouter } from "@connectrpc/connect";
import * as v1 from "../../../gen/grpc/reflection/v1/reflection_pb.js";
import * as v1alpha from "../../../gen/grpc/reflection/v1alpha/reflection_pb.js";
import { createDescriptorIndex, type DescriptorIndex } from "./descriptorIndex.js";
import { answerReflectionRequest } from "./reflectionAnswer.js";
import { recodeMessages } from "./recodeMessages.js";

/**
 * Registers gRPC server reflection, grpc.reflection.v1 and the older v1alpha that grpcurl and many
 * tools still ask for first, so clients can discover `services` without a copy of the .proto files.
 * Pass every service the router serves (health included): reflection answers only for those, and
 * lists itself too.
 */
export function registerReflection(router: ConnectRouter, services: readonly DescService[]): void {
  const index = createDescriptorIndex([...services, v1.ServerReflection, v1alpha.ServerReflection]);
  router.service(v1.ServerReflection, {
    serverReflectionInfo: (requests) => answerEach(index, requests),
  });
  router.service(v1alpha.ServerReflection, {
    serverReflectionInfo(requests) {
      const asV1 = recodeMessages(requests, v1alpha.ServerReflectionRequestSchema, v1.ServerReflectionRequestSchema);
      return recodeMessages(answerEach(index, asV1), v1.ServerReflectionResponseSchema, v1alpha.ServerReflectionResponseSchema);
    },
  });
}

async function* answerEach(
  index: DescriptorIndex,
  requests: AsyncIterable<v1.ServerReflectionRequest>,
): AsyncGenerator<v1.ServerReflectionResponse> {
  for await (const request of requests) yield answerReflectionRequest(index, request);
}
