import type { DescFile, DescService } from "@bufbuild/protobuf";
import { declaredSymbols } from "./declaredSymbols.js";
import { extensionsOf, messagesOf } from "./declaredTypes.js";
import { reachableFiles } from "./reachableFiles.js";

/** What the reflection service can tell a client: the served services and every file they need. */
export interface DescriptorIndex {
  /** Full names answered to `list_services`, in registration order. */
  readonly serviceNames: readonly string[];
  findFile(fileName: string): DescFile | undefined;
  findFileContainingSymbol(fullName: string): DescFile | undefined;
  findFileContainingExtension(extendee: string, fieldNumber: number): DescFile | undefined;
  /** The extension field numbers of a message; undefined when the message itself is unknown. */
  findExtensionNumbers(extendee: string): readonly number[] | undefined;
}

/**
 * Indexes the files reachable from `services`. Built once at start-up: the descriptors are
 * generated code and never change while the process runs.
 */
export function createDescriptorIndex(services: readonly DescService[]): DescriptorIndex {
  const serviceNames = [...new Set(services.map((service) => service.typeName))];
  const files = new Map<string, DescFile>();
  const symbols = new Map<string, DescFile>();
  const extensions = new Map<string, Map<number, DescFile>>();

  const fileList = reachableFiles(services.map((service) => service.file));
  for (const file of fileList) {
    files.set(file.proto.name, file);
    // First declaration wins, as in a descriptor pool that rejects the later duplicate.
    for (const symbol of declaredSymbols(file)) if (!symbols.has(symbol)) symbols.set(symbol, file);
    for (const message of messagesOf(file)) extensions.set(message.typeName, new Map());
  }
  // A second pass: an extension may be declared in a file indexed before its extendee's.
  for (const file of fileList) {
    for (const extension of extensionsOf(file)) {
      extensions.get(extension.extendee.typeName)?.set(extension.number, file);
    }
  }

  return {
    serviceNames,
    findFile: (fileName) => files.get(fileName),
    findFileContainingSymbol: (fullName) => symbols.get(fullName),
    findFileContainingExtension: (extendee, fieldNumber) => extensions.get(extendee)?.get(fieldNumber),
    findExtensionNumbers(extendee) {
      const numbers = extensions.get(extendee);
      return numbers && [...numbers.keys()].sort((a, b) => a - b);
    },
  };
}
