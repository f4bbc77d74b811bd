import type { DescExtension, DescFile, DescMessage } from "@bufbuild/protobuf";

/** Every message a file declares, nested ones included (protobuf-es leaves out map entries). */
export function* messagesOf(file: DescFile): Generator<DescMessage> {
  const pending = [...file.messages];
  for (let message = pending.pop(); message !== undefined; message = pending.pop()) {
    yield message;
    pending.push(...message.nestedMessages);
  }
}

/** Every extension a file declares, top-level or scoped inside a message. */
export function* extensionsOf(file: DescFile): Generator<DescExtension> {
  yield* file.extensions;
  for (const message of messagesOf(file)) yield* message.nestedExtensions;
}
