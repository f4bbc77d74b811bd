import { fromBinary, toBinary, type DescMessage, type MessageShape } from "@bufbuild/protobuf";

/**
 * Re-reads each message as another schema with the same wire format. grpc.reflection.v1alpha and
 * v1 are field-for-field identical, so one implementation serves both by recoding at the edge;
 * reflection traffic is a handful of small messages per client, so the copy costs nothing.
 */
export async function* recodeMessages<From extends DescMessage, To extends DescMessage>(
  messages: AsyncIterable<MessageShape<From>>,
  from: From,
  to: To,
): AsyncGenerator<MessageShape<To>> {
  for await (const message of messages) yield fromBinary(to, toBinary(from, message));
}
