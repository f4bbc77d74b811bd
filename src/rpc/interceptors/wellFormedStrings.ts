import type { DescField, DescMessage, Message } from "@bufbuild/protobuf";
import { reflect, type Path, type ReflectMessage } from "@bufbuild/protobuf/reflect";
import type { Interceptor } from "@connectrpc/connect";
import { notUtf8, unreadableField } from "../fieldViolations.js";

/**
 * Refuses a request with a string that is not well-formed, naming the field. Such a string holds
 * bytes that were not UTF-8 (wireFormat marks them) or a lone surrogate, which UTF-8 cannot carry:
 * left in, two different byte strings would become one consumer, one key, one code.
 */
export const wellFormedStrings: Interceptor = (next) => async (request) => {
  if (!request.stream) {
    refuseIllFormed(request.method.input, request.message);
    return next(request);
  }
  const messages = request.message;
  return next({
    ...request,
    message: (async function* () {
      for await (const message of messages) {
        refuseIllFormed(request.method.input, message);
        yield message;
      }
    })(),
  });
};

function refuseIllFormed(desc: DescMessage, message: Message): void {
  // Nearly every request is well-formed: a plain walk over its values says so without reflection,
  // which is only needed to name the field.
  if (!holdsIllFormed(message)) return;
  const path = illFormedIn(reflect(desc, message));
  if (path !== undefined) throw unreadableField({ path, ...notUtf8 });
}

/** Whether any string in a message's values (map keys included) is not well-formed. */
function holdsIllFormed(value: unknown): boolean {
  if (typeof value === "string") return !value.isWellFormed();
  if (typeof value !== "object" || value === null || ArrayBuffer.isView(value)) return false;
  if (Array.isArray(value)) return value.some(holdsIllFormed);
  for (const key in value) {
    if (!key.isWellFormed() || holdsIllFormed((value as Record<string, unknown>)[key])) return true;
  }
  return false;
}

// Paths are built on the way out of a find, so a well-formed request allocates none.
function illFormedIn(message: ReflectMessage): Path | undefined {
  for (const field of message.fields) {
    if (!message.isSet(field)) continue;
    const below = illFormedInField(message, field);
    if (below !== undefined) return [field, ...below];
  }
  return undefined;
}

function illFormedInField(message: ReflectMessage, field: DescField): Path | undefined {
  switch (field.fieldKind) {
    case "scalar":
      return wellFormed(message.get(field)) ? undefined : [];
    case "message":
      return illFormedIn(message.get(field));
    case "list":
      for (const [index, item] of message.get(field).entries()) {
        const below = field.listKind === "message" ? illFormedIn(item as ReflectMessage) : wellFormed(item) ? undefined : [];
        if (below !== undefined) return [{ kind: "list_sub", index }, ...below];
      }
      return undefined;
    case "map":
      for (const [key, value] of message.get(field)) {
        // A bad key is reported at the map: a subscript holding it could not be encoded.
        if (!wellFormed(key)) return [];
        const below = field.mapKind === "message" ? illFormedIn(value as ReflectMessage) : wellFormed(value) ? undefined : [];
        if (below !== undefined) return [{ kind: "map_sub", key: key as string | number | bigint | boolean }, ...below];
      }
      return undefined;
    default:
      return undefined;
  }
}

function wellFormed(value: unknown): boolean {
  return typeof value !== "string" || value.isWellFormed();
}
