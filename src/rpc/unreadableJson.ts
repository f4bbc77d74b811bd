import { fromJson, ScalarType, type DescField, type DescMessage, type JsonObject, type JsonReadOptions, type JsonValue } from "@bufbuild/protobuf";
import type { Path } from "@bufbuild/protobuf/reflect";
import { notUtf8, type UnreadableField } from "./fieldViolations.js";

/** How onetime reads JSON requests: a key that names no field is refused, not skipped. */
export const jsonReadOptions: Partial<JsonReadOptions> = { ignoreUnknownFields: false };

/**
 * Finds where a JSON request that protobuf-es refused went wrong. Its errors name a message or
 * enum type at best, never where in the request; so each key is tried alone, and the search
 * descends into the first one that fails. protobuf-es stays the only judge of what is readable:
 * this only looks for the place. Undefined when there is no single place (a syntax error, two
 * members of one oneof).
 */
export function findUnreadableJson(desc: DescMessage, text: string): UnreadableField | undefined {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return undefined;
  }
  return isObject(json) ? inMessage(desc, json, []) : undefined;
}

/**
 * What a JSON request is when it is well-formed JSON but not an object (`[]`, `"…"`, `42`), said
 * in words for the error; undefined for an object, or for text that is not JSON at all.
 */
export function nonObjectJson(text: string): string | undefined {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (isObject(json)) return undefined;
  return json === null ? "null" : Array.isArray(json) ? "an array" : `a ${typeof json}`;
}

function inMessage(desc: DescMessage, json: JsonObject, path: Path): UnreadableField | undefined {
  for (const [key, value] of Object.entries(json)) {
    // Extensions (`[pkg.ext]`) are left to protobuf-es: onetime declares none.
    if (key.startsWith("[")) continue;
    const field = desc.fields.find((candidate) => candidate.jsonName === key || candidate.name === key);
    if (field === undefined) {
      // A typo is the usual cause: the names that would have been read say what was meant.
      const known = desc.fields.length === 0 ? "no fields" : desc.fields.map((candidate) => candidate.jsonName).join(", ");
      return { path, unknownKey: key, ruleId: "known_field", message: `no such field (${desc.typeName} has ${known})` };
    }
    const readable = (candidate: JsonValue) => canRead(desc, { [key]: candidate });
    if (!readable(value)) return inField(field, value, [...path, field], readable);
  }
  return undefined;
}

function inField(field: DescField, value: JsonValue, path: Path, readable: (value: JsonValue) => boolean): UnreadableField {
  if (field.fieldKind === "message" && isObject(value) && !hasOwnJson(field.message)) {
    return inMessage(field.message, value, path) ?? unreadable(field, value, path);
  }
  if (field.fieldKind === "list" && Array.isArray(value)) {
    for (const [index, item] of value.entries()) {
      if (readable([item])) continue;
      const itemPath: Path = [...path, { kind: "list_sub", index }];
      const inItem = field.listKind === "message" && isObject(item) && !hasOwnJson(field.message) ? inMessage(field.message, item, itemPath) : undefined;
      return inItem ?? unreadable(field, item, itemPath);
    }
  }
  if (field.fieldKind === "map" && isObject(value)) {
    for (const [key, entry] of Object.entries(value)) {
      if (readable({ [key]: entry })) continue;
      // Only a string key can name the entry as it was sent; other keys name the map.
      const entryPath: Path = field.mapKey === ScalarType.STRING ? [...path, { kind: "map_sub", key }] : path;
      const inEntry = field.mapKind === "message" && isObject(entry) && !hasOwnJson(field.message) ? inMessage(field.message, entry, entryPath) : undefined;
      return inEntry ?? unreadable(field, { [key]: entry }, entryPath);
    }
  }
  return unreadable(field, value, path);
}

function unreadable(field: DescField, value: JsonValue, path: Path): UnreadableField {
  if (!wellFormed(value)) return { path, ...notUtf8 };
  if (field.enum !== undefined && typeof value === "string") {
    // The rule id protovalidate gives an undefined number, so a bad name reads the same; the
    // message lists the names, since "EMAIL" for "VERIFICATION_METHOD_EMAIL" is the usual slip.
    const names = field.enum.values.filter((each) => each.number !== 0).map((each) => each.name);
    return { path, ruleId: "enum.defined_only", message: `value must be one of ${names.join(", ")}` };
  }
  // protobuf-es's own text would quote the value back, and a value may be a secret.
  return { path, ruleId: "json", message: "is not a valid JSON value for this field" };
}

function canRead(desc: DescMessage, json: JsonObject): boolean {
  try {
    fromJson(desc, json, jsonReadOptions);
    return true;
  } catch {
    return false;
  }
}

function wellFormed(value: JsonValue): boolean {
  if (typeof value === "string") return value.isWellFormed();
  if (Array.isArray(value)) return value.every(wellFormed);
  if (isObject(value)) return Object.entries(value).every(([key, entry]) => key.isWellFormed() && wellFormed(entry));
  return true;
}

// Well-known types whose JSON is not an object of their fields (Timestamp is a string, Struct any
// object): a path stops at the field that holds one.
function hasOwnJson(desc: DescMessage): boolean {
  return desc.typeName.startsWith("google.protobuf.");
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
