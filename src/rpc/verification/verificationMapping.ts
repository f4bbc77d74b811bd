import { create, toBinary, type JsonObject, type JsonValue } from "@bufbuild/protobuf";
import { durationMs, timestampFromDate } from "@bufbuild/protobuf/wkt";
import { createHash } from "node:crypto";
import {
  InitiateVerificationRequestSchema,
  SymbolSet as SymbolSetProto,
  VerificationMethod as MethodProto,
  VerificationSchema,
  type InitiateVerificationRequest,
  type Verification as VerificationProto,
} from "../../../gen/onetime/v1/verification_service_pb.js";
import type { Principal } from "../../auth/principal.js";
import { requireEmailAddress, requirePhoneNumber } from "../../channels/destinations.js";
import type { SymbolSet } from "../../domain/verification/codeGenerator.js";
import type { Verification, VerificationMethod } from "../../domain/verification/verification.js";
import type { InitiateInput } from "../../domain/verification/verificationService.js";
import { InvalidArgument } from "../../errors/domainError.js";

const methods: Partial<Record<MethodProto, VerificationMethod>> = {
  [MethodProto.EMAIL]: "email",
  [MethodProto.PHONE]: "phone",
  [MethodProto.TOTP]: "totp",
};
const methodsBack: Record<VerificationMethod, MethodProto> = { email: MethodProto.EMAIL, phone: MethodProto.PHONE, totp: MethodProto.TOTP };
const symbolSets: Partial<Record<SymbolSetProto, SymbolSet>> = {
  [SymbolSetProto.DIGITS]: "digits",
  [SymbolSetProto.LOWERCASE]: "lowercase",
  [SymbolSetProto.UPPERCASE]: "uppercase",
};

const nonEmpty = (value: string): string | undefined => (value === "" ? undefined : value);

/** Decodes an InitiateVerification request into the domain's input; field rules ran already. */
export function initiateInput(request: InitiateVerificationRequest, principal: Principal): InitiateInput {
  // The proto rules refuse UNSPECIFIED; this only satisfies the type.
  const method = methods[request.method];
  if (method === undefined) throw InvalidArgument.field("method", "defined", "must be EMAIL, PHONE or TOTP");
  const consumer =
    method === "email"
      ? requireEmailAddress(request.consumer, "consumer")
      : method === "phone"
        ? requirePhoneNumber(request.consumer, "consumer")
        : totpConsumer(request.consumer);
  const policy = request.policy;
  const template = request.template;
  const code = request.generateCode;
  return {
    method,
    consumer,
    ...(nonEmpty(request.issuer) === undefined ? {} : { issuer: request.issuer }),
    ...(template === undefined ? {} : { template: { subject: template.subject, text: template.textBody, html: template.htmlBody } }),
    ...(code === undefined
      ? {}
      : { code: { length: code.length, symbolSets: code.symbolSets.flatMap((set) => symbolSets[set] ?? []) } }),
    ...(policy?.timeToLive === undefined ? {} : { ttlMs: durationMs(policy.timeToLive) }),
    ...(nonEmpty(policy?.forcedVerificationId ?? "") === undefined ? {} : { forcedId: policy!.forcedVerificationId.toLowerCase() }),
    ...(nonEmpty(policy?.forcedCode ?? "") === undefined ? {} : { forcedCode: policy!.forcedCode }),
    ...(policy === undefined || policy.maxAttempts === 0 ? {} : { maxAttempts: policy.maxAttempts }),
    ...(request.payload === undefined ? {} : { payload: request.payload }),
    ...(nonEmpty(request.locale) === undefined ? {} : { locale: request.locale }),
    ...(request.idempotencyKey === "" ? {} : { idempotency: { key: request.idempotencyKey, fingerprint: fingerprint(request, principal) } }),
    mayForceCode: principal.kind === "service" || principal.kind === "admin",
  };
}

function totpConsumer(raw: string): string {
  const consumer = raw.trim();
  if (consumer === "" || /[\u0000-\u001f]/.test(consumer)) {
    throw InvalidArgument.field("consumer", "printable", "must be a non-empty id without control characters");
  }
  return consumer;
}

/**
 * What makes two requests "the same" for an idempotency key: every field but the key, and who
 * asked, so one caller's key can never replay another's answer.
 */
function fingerprint(request: InitiateVerificationRequest, principal: Principal): string {
  const canonical = create(InitiateVerificationRequestSchema, {
    ...request,
    idempotencyKey: "",
    // A retry may serialise the same JSON object with its keys in another order.
    ...(request.payload === undefined ? {} : { payload: sortKeys(request.payload) as JsonObject }),
  });
  const bytes = toBinary(InitiateVerificationRequestSchema, canonical);
  const who = principal.kind === "public" ? "public" : `${principal.kind}:${principal.subject}`;
  return createHash("sha256").update(who).update("\0").update(bytes).digest("base64url");
}

function sortKeys(value: JsonValue): JsonValue {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value === null || typeof value !== "object") return value;
  return Object.fromEntries(Object.keys(value).sort().map((key) => [key, sortKeys(value[key]!)]));
}

export function verificationProto(verification: Verification): VerificationProto {
  return create(VerificationSchema, {
    verificationId: verification.id,
    method: methodsBack[verification.method],
    consumer: verification.consumer,
    expireTime: timestampFromDate(verification.expireAt),
    attempts: verification.attempts,
    maxAttempts: verification.maxAttempts,
    ...(verification.payload === undefined ? {} : { payload: verification.payload }),
    nextResendTime: timestampFromDate(verification.nextResendAt),
    resendCount: verification.resendCount,
  });
}
