import { create } from "@bufbuild/protobuf";
import { durationFromMs, timestampFromDate } from "@bufbuild/protobuf/wkt";
import {
  FactorChange as FactorChangeProto,
  FactorChangesLockSchema,
  IssuedTokenSchema,
  SecurityProfileSchema,
  TokenOperation as OperationProto,
  UserKeySchema,
  UserKeyType as KeyTypeProto,
  type IssuedToken as IssuedTokenProto,
  type ProfileKeyInput,
  type SecurityProfile as SecurityProfileProto,
  type UserKey as UserKeyProto,
} from "../../../gen/onetime/v1/token_service_pb.js";
import { userKeyFrom } from "../../domain/profileTokens/actingUser.js";
import type { TokenOperation } from "../../domain/profileTokens/operations.js";
import { FACTOR_CHANGE_REPORT, type IssuedToken } from "../../domain/profileTokens/profileTokens.js";
import type { FactorChange, SecurityProfile, UserKey, UserKeyState, UserKeyType } from "../../domain/profileTokens/securityProfile.js";
import { InvalidArgument } from "../../errors/domainError.js";

const operationsByProto: Partial<Record<OperationProto, TokenOperation>> = {
  [OperationProto.REGISTRATION]: "registration",
  [OperationProto.LOGIN]: "login",
  [OperationProto.PASSWORD_RECOVERY]: "password_recovery",
  [OperationProto.KEY_RECOVERY]: "key_recovery",
  [OperationProto.KEY_RECOVERY_NEW_KEY]: "key_recovery_new_key",
  [OperationProto.PASSWORD_CHANGE]: "password_change",
  [OperationProto.KEY_ADDITION]: "key_addition",
  [OperationProto.KEY_CHANGE]: "key_change",
  [OperationProto.KEY_CHANGE_NEW_KEY]: "key_change_new_key",
  [OperationProto.KEY_REMOVAL]: "key_removal",
  [OperationProto.ANTI_PHISHING_CODE]: "anti_phishing_code",
  [OperationProto.MFA_DISABLE]: "mfa_disable",
};
const operationsBack = Object.fromEntries(Object.entries(operationsByProto).map(([proto, name]) => [name, Number(proto)])) as Record<TokenOperation, OperationProto>;

export function operationOf(operation: OperationProto): TokenOperation {
  const known = operationsByProto[operation];
  // The proto rules refuse UNSPECIFIED and undefined numbers first; this only satisfies the type.
  if (known === undefined) throw InvalidArgument.field("operation", "defined", "is not a known operation");
  return known;
}

export function operationProto(operation: TokenOperation | typeof FACTOR_CHANGE_REPORT): OperationProto {
  return operation === FACTOR_CHANGE_REPORT ? OperationProto.FACTOR_CHANGE_REPORT : operationsBack[operation];
}

const factorChangeProtos: Readonly<Record<FactorChange, FactorChangeProto>> = {
  key_added: FactorChangeProto.KEY_ADDED,
  key_changed: FactorChangeProto.KEY_CHANGED,
  key_recovered: FactorChangeProto.KEY_RECOVERED,
  key_removed: FactorChangeProto.KEY_REMOVED,
  mfa_disabled: FactorChangeProto.MFA_DISABLED,
};

export function keyTypeOf(type: KeyTypeProto, field: string): UserKeyType {
  if (type === KeyTypeProto.EMAIL) return "email";
  if (type === KeyTypeProto.PHONE_NUMBER) return "phone";
  throw InvalidArgument.field(field, "required", "is required: USER_KEY_TYPE_EMAIL or USER_KEY_TYPE_PHONE_NUMBER");
}

function keyTypeProto(type: UserKeyType): KeyTypeProto {
  return type === "email" ? KeyTypeProto.EMAIL : KeyTypeProto.PHONE_NUMBER;
}

/** A UserKey message, checked and normalised; `field` is its path, e.g. `new_key`. */
export function userKeyOf(key: UserKeyProto | undefined, field: string): UserKey {
  switch (key?.key.case) {
    case "email":
      return userKeyFrom("email", key.key.value, `${field}.email`);
    case "phoneNumber":
      return userKeyFrom("phone", key.key.value, `${field}.phone_number`);
    default:
      throw InvalidArgument.field(field, "required", "needs an email or a phone_number");
  }
}

export function userKeyProto(key: UserKey): UserKeyProto {
  return create(UserKeySchema, { key: key.type === "email" ? { case: "email", value: key.value } : { case: "phoneNumber", value: key.value } });
}

/** A key of CreateSecurityProfile, or undefined when left out. */
export function keyInputOf(input: ProfileKeyInput | undefined, type: UserKeyType, field: string): UserKeyState | undefined {
  if (input === undefined) return undefined;
  return { value: userKeyFrom(type, input.value, `${field}.value`).value, verified: input.verified, mfaEnabled: input.mfaEnabled };
}

export function issuedProto(issued: IssuedToken): IssuedTokenProto {
  return create(IssuedTokenSchema, {
    destination: issued.destination,
    destinationType: keyTypeProto(issued.destinationType),
    expireTime: timestampFromDate(issued.expireAt),
    expiresIn: durationFromMs(issued.expiresInMs),
    nextResendTime: timestampFromDate(issued.nextResendAt),
  });
}

export function profileProto(profile: SecurityProfile): SecurityProfileProto {
  return create(SecurityProfileSchema, {
    userId: profile.userId,
    email: profile.email?.value ?? "",
    emailVerified: profile.email?.verified ?? false,
    emailMfaEnabled: profile.email?.mfaEnabled ?? false,
    phoneNumber: profile.phone?.value ?? "",
    phoneNumberVerified: profile.phone?.verified ?? false,
    phoneNumberMfaEnabled: profile.phone?.mfaEnabled ?? false,
    hasAntiPhishingCode: profile.antiPhishingCode !== undefined,
    createTime: timestampFromDate(profile.createdAt),
    updateTime: timestampFromDate(profile.updatedAt),
    ...(profile.factorChangesLock === undefined
      ? {}
      : {
          factorChangesLock: create(FactorChangesLockSchema, {
            lockTime: timestampFromDate(profile.factorChangesLock.lockedAt),
            reportedChange: factorChangeProtos[profile.factorChangesLock.reportedChange],
            changeTime: timestampFromDate(profile.factorChangesLock.changedAt),
          }),
        }),
  });
}

