import { create } from "@bufbuild/protobuf";
import { durationMs, timestampFromDate } from "@bufbuild/protobuf/wkt";
import {
  SymbolSet as SymbolSetProto,
  VerificationMethod as MethodProto,
  VerificationSchema,
  type InitiateVerificationRequest,
  type Verification as VerificationProto,
} from "../../../gen/onetime/v1/verification_service_pb.js";
import type { SymbolSet } from "../../domain/secrets/codeGenerator.js";
import type { Verification, VerificationMethod } from "../../domain/verification/verification.js";
import type { InitiateInput } from "../../domain/verification/verificationService.js";
import { InvalidArgument } from "../../errors/domainError.js";
import { given, idOf } from "../requestFields.js";

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

/** Decodes an InitiateVerification request into the domain's input; field rules ran already. */
export function initiateInput(request: InitiateVerificationRequest): InitiateInput {
  // The proto rules refuse UNSPECIFIED; this only satisfies the type.
  const method = methods[request.method];
  if (method === undefined) throw InvalidArgument.field("method", "defined", "must be EMAIL, PHONE or TOTP");
  const policy = request.policy;
  const template = request.template;
  const code = request.generateCode;
  return {
    method,
    consumer: request.consumer,
    ...(given(request.issuer) === undefined ? {} : { issuer: request.issuer }),
    ...(template === undefined ? {} : { template: { subject: template.subject, text: template.textBody, html: template.htmlBody } }),
    ...(code === undefined ? {} : { code: { length: code.length, symbolSets: code.symbolSets.map(symbolSetOf) } }),
    ...(policy?.timeToLive === undefined ? {} : { ttlMs: durationMs(policy.timeToLive) }),
    ...(given(policy?.forcedVerificationId ?? "") === undefined ? {} : { forcedId: idOf(policy!.forcedVerificationId) }),
    ...(given(policy?.forcedCode ?? "") === undefined ? {} : { forcedCode: policy!.forcedCode }),
    ...(policy === undefined || policy.maxAttempts === 0 ? {} : { maxAttempts: policy.maxAttempts }),
    ...(request.payload === undefined ? {} : { payload: request.payload }),
    ...(given(request.locale) === undefined ? {} : { locale: request.locale }),
    ...(request.idempotencyKey === "" ? {} : { idempotencyKey: request.idempotencyKey }),
  };
}

function symbolSetOf(set: SymbolSetProto): SymbolSet {
  const known = symbolSets[set];
  // Undefined values are refused by the proto's rules before this; never drop one silently.
  if (known === undefined) throw InvalidArgument.field("generate_code.symbol_sets", "enum.defined_only", "must be DIGITS, LOWERCASE or UPPERCASE");
  return known;
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
