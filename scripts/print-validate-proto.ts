// Prints buf/validate/validate.proto as .proto source, reconstructed from the file descriptor that
// @bufbuild/protovalidate embeds in its generated code. No npm package ships the .proto source and
// the Buf Schema Registry is not reachable from every machine that builds onetime, but buf needs the
// schema to compile our files that use `(buf.validate.field)` etc.
//
//   npx tsx scripts/print-validate-proto.ts > third_party/proto/buf/validate/validate.proto
//
// Options are printed too, including the extension options validate.proto sets on its own fields
// (`(buf.validate.predefined).cel`), so buf compiles the result to a descriptor equal to the embedded
// one; only source info (comments) is missing, because the embedded descriptor has none. Anything
// this printer does not know how to print (editions, groups, unknown option fields, ...) is an error
// rather than a silently different schema.
//
//   npx tsx scripts/print-validate-proto.ts --check IMAGE
//
// verifies that claim: IMAGE is `buf build --exclude-source-info` output containing the printed file;
// exits non-zero unless its buf/validate/validate.proto equals the embedded descriptor.
// scripts/vendor-protos.sh runs both.
import { readFileSync } from "node:fs";
import { argv, exit, stderr, stdout } from "node:process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  type DescField,
  clone,
  createRegistry,
  equals,
  fromBinary,
  type Message,
  getExtension,
  hasExtension,
  isFieldSet,
  ScalarType,
} from "@bufbuild/protobuf";
import type { GenExtension } from "@bufbuild/protobuf/codegenv2";
import { protoCamelCase, reflect, type ReflectMessage } from "@bufbuild/protobuf/reflect";
import {
  type DescriptorProto,
  type EnumDescriptorProto,
  type FieldDescriptorProto,
  FieldDescriptorProtoSchema,
  FieldDescriptorProto_Label as Label,
  FieldDescriptorProto_Type as Type,
  type FileDescriptorProto,
  FileDescriptorProtoSchema,
  FileDescriptorSetSchema,
  file_google_protobuf_descriptor,
} from "@bufbuild/protobuf/wkt";
import * as validatePb from "@bufbuild/protovalidate/gen/buf/validate/validate_pb.js";

const SOURCE_PACKAGE = "@bufbuild/protovalidate";
const SOURCE_MODULE = "@bufbuild/protovalidate/gen/buf/validate/validate_pb.js";

/** Field numbers (exclusive end) and enum numbers (inclusive end) that mean `max` in a range. */
const MESSAGE_RANGE_MAX = 536870912; // 2^29, exclusive
const ENUM_RANGE_MAX = 2147483647; // int32 max, inclusive

const file = validatePb.file_buf_validate_validate.proto;

/** Extensions this file defines, so their values can be printed where the file sets them on itself. */
const knownExtensions = [
  validatePb.message,
  validatePb.oneof,
  validatePb.field,
  validatePb.predefined,
] as unknown as GenExtension<Message, Message>[];

/** google/protobuf/descriptor.proto, to look up the schema of an *Options message by type name. */
const descriptorRegistry = createRegistry(file_google_protobuf_descriptor);

function fail(msg: string): never {
  throw new Error(`print-validate-proto: ${msg}`);
}

function sourceVersion(): string {
  // The package's exports map doesn't expose package.json, so walk up from the resolved module.
  let dir = dirname(fileURLToPath(import.meta.resolve(SOURCE_MODULE)));
  for (;;) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as {
        name?: string;
        version?: string;
      };
      if (pkg.name === SOURCE_PACKAGE && pkg.version !== undefined) return pkg.version;
    } catch {
      // no package.json here (or a {"type":...} stub without a name); keep walking up
    }
    const parent = dirname(dir);
    if (parent === dir) fail(`cannot find package.json of ${SOURCE_PACKAGE}`);
    dir = parent;
  }
}

// ---- literals ---------------------------------------------------------------------------------

/** A .proto / text-format string literal; every byte outside printable ASCII is octal-escaped. */
function quoteBytes(bytes: Uint8Array): string {
  let out = '"';
  for (const b of bytes) {
    if (b === 0x22) out += '\\"';
    else if (b === 0x5c) out += "\\\\";
    else if (b === 0x0a) out += "\\n";
    else if (b === 0x0d) out += "\\r";
    else if (b === 0x09) out += "\\t";
    else if (b >= 0x20 && b < 0x7f) out += String.fromCharCode(b);
    else out += "\\" + b.toString(8).padStart(3, "0");
  }
  return out + '"';
}

function quote(s: string): string {
  return quoteBytes(new TextEncoder().encode(s));
}

function number(n: number | bigint): string {
  if (typeof n === "bigint") return n.toString();
  if (Number.isNaN(n)) return "nan";
  if (n === Infinity) return "inf";
  if (n === -Infinity) return "-inf";
  return String(n);
}

function scalarLiteral(type: ScalarType, value: unknown): string {
  switch (type) {
    case ScalarType.STRING:
      return quote(value as string);
    case ScalarType.BYTES:
      return quoteBytes(value as Uint8Array);
    case ScalarType.BOOL:
      return value ? "true" : "false";
    default:
      return number(value as number | bigint);
  }
}

// ---- options ----------------------------------------------------------------------------------

/** Text-format body of a message value, as used in an option aggregate `{ ... }`. */
function textFormat(msg: ReflectMessage, indent: string): string {
  const lines: string[] = [];
  const inner = indent + "  ";
  const value = (f: DescField, v: unknown): string => {
    switch (f.fieldKind) {
      case "scalar":
        return scalarLiteral(f.scalar, v);
      case "enum":
        return enumLiteral(f.enum.values, v as number);
      case "message":
        return aggregate(v as ReflectMessage, inner);
      case "list":
        if (f.listKind === "scalar") return scalarLiteral(f.scalar, v);
        if (f.listKind === "enum") return enumLiteral(f.enum.values, v as number);
        return aggregate(v as ReflectMessage, inner);
      case "map":
        return fail(`map fields in option values are not supported (${f.toString()})`);
    }
  };
  for (const f of msg.sortedFields) {
    if (!msg.isSet(f)) continue;
    if (f.fieldKind === "list") {
      for (const item of msg.get(f)) lines.push(`${inner}${f.name}: ${value(f, item)}`);
    } else if (f.fieldKind === "map") {
      fail(`map fields in option values are not supported (${f.toString()})`);
    } else {
      lines.push(`${inner}${f.name}: ${value(f, msg.get(f))}`);
    }
  }
  if (msg.getUnknown()?.length) fail(`unknown fields in option value ${msg.desc.typeName}`);
  return lines.join("\n");
}

function aggregate(msg: ReflectMessage, indent: string): string {
  const body = textFormat(msg, indent);
  return body === "" ? "{}" : `{\n${body}\n${indent}}`;
}

function enumLiteral(values: readonly { number: number; name: string }[], n: number): string {
  const v = values.find((e) => e.number === n);
  return v ? v.name : String(n);
}

/**
 * Renders the options set on an *Options message as `name = value` entries (standard options by
 * field name, extensions as `(full.name)`).
 */
function optionEntries(options: Message | undefined, indent: string): string[] {
  if (options === undefined) return [];
  const out: string[] = [];
  const desc = descriptorRegistry.getMessage(options.$typeName) ?? fail(`unknown options type ${options.$typeName}`);
  const r = reflect(desc, options);
  for (const f of r.sortedFields) {
    if (!r.isSet(f)) continue;
    if (f.name === "uninterpreted_option") fail("uninterpreted options are not supported");
    if (f.fieldKind === "scalar") out.push(`${f.name} = ${scalarLiteral(f.scalar, r.get(f))}`);
    else if (f.fieldKind === "enum") out.push(`${f.name} = ${enumLiteral(f.enum.values, r.get(f) as number)}`);
    else if (f.fieldKind === "message") out.push(`${f.name} = ${aggregate(r.get(f) as ReflectMessage, indent)}`);
    else fail(`option ${f.toString()} of kind ${f.fieldKind} is not supported`);
  }
  const handled = new Set<number>();
  for (const ext of knownExtensions) {
    if (ext.extendee.typeName !== options.$typeName) continue;
    if (ext.fieldKind !== "message") fail(`extension ${ext.typeName} is not message-typed`);
    if (!hasExtension(options, ext)) continue;
    handled.add(ext.number);
    out.push(`(${ext.typeName}) = ${aggregate(reflect(ext.message, getExtension(options, ext)), indent)}`);
  }
  for (const u of options.$unknown ?? []) {
    if (!handled.has(u.no)) fail(`unknown option field ${u.no} on ${options.$typeName}`);
  }
  return out;
}

/** Compact `[a = 1, b = 2]` suffix, or a multi-line one when an option value is an aggregate. */
function bracketOptions(entries: string[], indent: string): string {
  if (entries.length === 0) return "";
  if (entries.every((e) => !e.includes("\n"))) return ` [${entries.join(", ")}]`;
  return ` [\n${entries.map((e) => `${indent}  ${e}`).join(",\n")}\n${indent}]`;
}

// ---- schema -----------------------------------------------------------------------------------

function scalarTypeName(t: Type): string {
  switch (t) {
    case Type.DOUBLE: return "double";
    case Type.FLOAT: return "float";
    case Type.INT64: return "int64";
    case Type.UINT64: return "uint64";
    case Type.INT32: return "int32";
    case Type.FIXED64: return "fixed64";
    case Type.FIXED32: return "fixed32";
    case Type.BOOL: return "bool";
    case Type.STRING: return "string";
    case Type.BYTES: return "bytes";
    case Type.UINT32: return "uint32";
    case Type.SFIXED32: return "sfixed32";
    case Type.SFIXED64: return "sfixed64";
    case Type.SINT32: return "sint32";
    case Type.SINT64: return "sint64";
    case Type.GROUP: return fail("groups are not supported");
    default: return fail(`unsupported field type ${t}`);
  }
}

function fieldTypeName(f: FieldDescriptorProto): string {
  return f.type === Type.MESSAGE || f.type === Type.ENUM ? f.typeName : scalarTypeName(f.type);
}

function defaultLiteral(f: FieldDescriptorProto): string {
  const d = f.defaultValue;
  switch (f.type) {
    case Type.STRING: return quote(d);
    case Type.BYTES: return `"${d}"`; // already C-escaped in the descriptor
    case Type.ENUM:
    case Type.BOOL:
    default: return d; // numbers incl. inf/-inf/nan, true/false, enum value names
  }
}

function labelPrefix(f: FieldDescriptorProto, proto3: boolean, inOneof: boolean): string {
  if (inOneof) return "";
  switch (f.label) {
    case Label.REPEATED: return "repeated ";
    case Label.REQUIRED: return "required ";
    default: return proto3 && !f.proto3Optional ? "" : "optional ";
  }
}

function fieldLine(
  f: FieldDescriptorProto,
  indent: string,
  ctx: { proto3: boolean; inOneof: boolean; isExtension: boolean; mapEntries: Map<string, DescriptorProto> },
): string {
  const entries: string[] = [];
  if (isFieldSet(f, FieldDescriptorProtoSchema.field.defaultValue)) {
    entries.push(`default = ${defaultLiteral(f)}`);
  }
  if (!ctx.isExtension && f.jsonName !== "" && f.jsonName !== protoCamelCase(f.name)) {
    entries.push(`json_name = ${quote(f.jsonName)}`);
  }
  entries.push(...optionEntries(f.options, indent + "  "));
  const mapEntry = f.type === Type.MESSAGE ? ctx.mapEntries.get(f.typeName) : undefined;
  let decl: string;
  if (mapEntry !== undefined) {
    const [k, v] = mapEntry.field;
    if (k === undefined || v === undefined) fail(`malformed map entry ${f.typeName}`);
    decl = `map<${fieldTypeName(k)}, ${fieldTypeName(v)}>`;
  } else {
    decl = labelPrefix(f, ctx.proto3, ctx.inOneof) + fieldTypeName(f);
  }
  return `${indent}${decl} ${f.name} = ${f.number}${bracketOptions(entries, indent)};`;
}

function rangeEnd(end: number, max: number): string {
  return end === max ? "max" : String(end);
}

function rangesLine(keyword: "reserved" | "extensions", ranges: { start: number; end: number }[], exclusive: boolean): string {
  const parts = ranges.map(({ start, end }) => {
    const last = exclusive ? end - 1 : end;
    const maxValue = exclusive ? MESSAGE_RANGE_MAX - 1 : ENUM_RANGE_MAX;
    if (last === start) return String(start);
    return `${start} to ${rangeEnd(last, maxValue)}`;
  });
  return `${keyword} ${parts.join(", ")};`;
}

function printEnum(e: EnumDescriptorProto, indent: string, out: string[]): void {
  out.push(`${indent}enum ${e.name} {`);
  const inner = indent + "  ";
  for (const o of optionEntries(e.options, inner)) out.push(`${inner}option ${o};`);
  for (const v of e.value) {
    out.push(`${inner}${v.name} = ${v.number}${bracketOptions(optionEntries(v.options, inner + "  "), inner)};`);
  }
  if (e.reservedRange.length > 0) out.push(inner + rangesLine("reserved", e.reservedRange, false));
  if (e.reservedName.length > 0) out.push(`${inner}reserved ${e.reservedName.map(quote).join(", ")};`);
  out.push(`${indent}}`);
}

function printExtensions(exts: FieldDescriptorProto[], indent: string, proto3: boolean, out: string[]): void {
  const byExtendee = new Map<string, FieldDescriptorProto[]>();
  for (const x of exts) {
    const list = byExtendee.get(x.extendee) ?? [];
    list.push(x);
    byExtendee.set(x.extendee, list);
  }
  for (const [extendee, list] of byExtendee) {
    out.push(`${indent}extend ${extendee} {`);
    for (const x of list) {
      out.push(fieldLine(x, indent + "  ", { proto3, inOneof: false, isExtension: true, mapEntries: new Map() }));
    }
    out.push(`${indent}}`);
  }
}

function printMessage(m: DescriptorProto, scope: string, indent: string, proto3: boolean, out: string[]): void {
  const typeName = `${scope}.${m.name}`;
  const inner = indent + "  ";
  out.push(`${indent}message ${m.name} {`);
  for (const o of optionEntries(m.options, inner)) out.push(`${inner}option ${o};`);

  const mapEntries = new Map<string, DescriptorProto>();
  for (const n of m.nestedType) {
    if (n.options?.mapEntry) mapEntries.set(`${typeName}.${n.name}`, n);
  }

  const printedOneofs = new Set<number>();
  for (const f of m.field) {
    const oneofIndex = f.oneofIndex;
    const inRealOneof = isFieldSet(f, FieldDescriptorProtoSchema.field.oneofIndex) && !f.proto3Optional;
    if (!inRealOneof) {
      out.push(fieldLine(f, inner, { proto3, inOneof: false, isExtension: false, mapEntries }));
      continue;
    }
    if (printedOneofs.has(oneofIndex)) continue;
    printedOneofs.add(oneofIndex);
    const decl = m.oneofDecl[oneofIndex] ?? fail(`${typeName}: missing oneof ${oneofIndex}`);
    out.push(`${inner}oneof ${decl.name} {`);
    for (const o of optionEntries(decl.options, inner + "  ")) out.push(`${inner}  option ${o};`);
    for (const g of m.field) {
      if (isFieldSet(g, FieldDescriptorProtoSchema.field.oneofIndex) && g.oneofIndex === oneofIndex) {
        out.push(fieldLine(g, inner + "  ", { proto3, inOneof: true, isExtension: false, mapEntries }));
      }
    }
    out.push(`${inner}}`);
  }

  for (const n of m.nestedType) {
    if (mapEntries.has(`${typeName}.${n.name}`)) continue;
    printMessage(n, typeName, inner, proto3, out);
  }
  for (const e of m.enumType) printEnum(e, inner, out);
  if (m.extension.length > 0) printExtensions(m.extension, inner, proto3, out);

  for (const r of m.extensionRange) {
    if (r.options !== undefined && optionEntries(r.options, inner).length > 0) {
      fail(`${typeName}: extension range options are not supported`);
    }
  }
  if (m.extensionRange.length > 0) out.push(inner + rangesLine("extensions", m.extensionRange, true));
  if (m.reservedRange.length > 0) out.push(inner + rangesLine("reserved", m.reservedRange, true));
  if (m.reservedName.length > 0) out.push(`${inner}reserved ${m.reservedName.map(quote).join(", ")};`);
  out.push(`${indent}}`);
}

function printFile(f: FileDescriptorProto, version: string): string {
  const syntax = f.syntax === "" ? "proto2" : f.syntax;
  if (syntax !== "proto2" && syntax !== "proto3") fail(`syntax/edition "${f.syntax}" is not supported`);
  if (f.service.length > 0) fail("services are not supported");
  const proto3 = syntax === "proto3";
  const out: string[] = [];
  out.push(
    "// Code generated by scripts/print-validate-proto.ts. DO NOT EDIT.",
    `// Source: ${SOURCE_PACKAGE}@${version}, the descriptor embedded in`,
    `//   ${SOURCE_MODULE} (file_buf_validate_validate).`,
    "// Regenerate: scripts/vendor-protos.sh, or",
    `//   npx tsx scripts/print-validate-proto.ts > third_party/proto/${f.name}`,
    "//",
    "// Reconstructed from a descriptor, not copied from upstream source: comments and layout are lost",
    "// (the embedded descriptor has no source info). Names, numbers, types, labels, json names,",
    "// oneofs, reserved and extension ranges, extensions and all options - including the",
    "// (buf.validate.predefined).cel rules validate.proto sets on its own fields - are reproduced.",
    "// Used only so buf can compile onetime's .proto files that use buf.validate options; generated",
    "// code imports the library's own validate_pb (see rewrite_imports in buf.gen.yaml).",
    "//",
    "// Upstream: https://github.com/bufbuild/protovalidate (proto/protovalidate/buf/validate/validate.proto)",
    "// Copyright Buf Technologies, Inc.",
    "// Licensed under the Apache License, Version 2.0 (the \"License\"); you may not use this file except",
    "// in compliance with the License. You may obtain a copy of the License at",
    "//     http://www.apache.org/licenses/LICENSE-2.0",
    "// Unless required by applicable law or agreed to in writing, software distributed under the",
    "// License is distributed on an \"AS IS\" BASIS, WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either",
    "// express or implied. See the License for the specific language governing permissions and",
    "// limitations under the License.",
    "",
    `syntax = "${syntax}";`,
    "",
    `package ${f.package};`,
    "",
  );
  const publicDeps = new Set(f.publicDependency);
  const weakDeps = new Set(f.weakDependency);
  f.dependency.forEach((d, i) => {
    const mod = publicDeps.has(i) ? "public " : weakDeps.has(i) ? "weak " : "";
    out.push(`import ${mod}${quote(d)};`);
  });
  const fileOptions = optionEntries(f.options, "");
  if (fileOptions.length > 0) {
    out.push("");
    for (const o of fileOptions) out.push(`option ${o};`);
  }
  const scope = f.package === "" ? "" : `.${f.package}`;
  if (f.extension.length > 0) {
    out.push("");
    printExtensions(f.extension, "", proto3, out);
  }
  for (const m of f.messageType) {
    out.push("");
    printMessage(m, scope, "", proto3, out);
  }
  for (const e of f.enumType) {
    out.push("");
    printEnum(e, "", out);
  }
  return out.join("\n") + "\n";
}

/** Compares the compiled file in a buf image (a FileDescriptorSet) with the embedded descriptor. */
function check(imagePath: string): boolean {
  const image = fromBinary(FileDescriptorSetSchema, readFileSync(imagePath));
  const built = image.file.find((f) => f.name === file.name);
  if (built === undefined) fail(`${imagePath} does not contain ${file.name}`);
  const normalized = clone(FileDescriptorProtoSchema, built);
  normalized.$unknown = undefined; // buf's own image metadata (field 8042)
  normalized.sourceCodeInfo = undefined;
  return equals(FileDescriptorProtoSchema, normalized, file);
}

if (argv[2] === "--check") {
  const imagePath = argv[3] ?? fail("usage: print-validate-proto.ts --check IMAGE");
  if (!check(imagePath)) {
    stderr.write(`print-validate-proto: ${file.name} in ${imagePath} differs from the descriptor embedded in ${SOURCE_MODULE}\n`);
    exit(1);
  }
  stderr.write(`print-validate-proto: ${file.name} compiles to the embedded descriptor\n`);
} else if (argv.length > 2) {
  fail(`unexpected arguments: ${argv.slice(2).join(" ")}`);
} else {
  stdout.write(printFile(file, sourceVersion()));
}
