import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import {
  AccountTokenKind as KindProto,
  AccountTokenSchema,
  AccountTokenState as StateProto,
  AuthTokenState as AuthStateProto,
  IssuedAccountTokenSchema,
  type AccountToken as AccountTokenProto,
  type IssuedAccountToken as IssuedTokenProto,
  type ListAccountTokensRequest,
  type PushDevice,
} from "../../../gen/onetime/v1/account_token_service_pb.js";
import type { AccountTokenKind, AccountTokenRecord, AccountTokenState, IssuedToken } from "../../domain/accountTokens/accountToken.js";
import type { ListQuery } from "../../domain/accountTokens/accountTokenAdmin.js";
import type { AuthTokenView } from "../../domain/accountTokens/accountTokenStore.js";
import type { Actor } from "../../domain/actor.js";
import { isPushProvider, type PushTarget } from "../../domain/destinations/pushTarget.js";
import { InvalidArgument, PermissionDenied } from "../../errors/domainError.js";

const kinds: Record<AccountTokenKind, KindProto> = {
  account_creation_request: KindProto.ACCOUNT_CREATION_REQUEST,
  account_creation: KindProto.ACCOUNT_CREATION,
  account_recovery: KindProto.ACCOUNT_RECOVERY,
  auth: KindProto.AUTH,
};
const states: Record<AccountTokenState, StateProto> = {
  active: StateProto.ACTIVE,
  sending: StateProto.SENDING,
  used: StateProto.USED,
  revoked: StateProto.REVOKED,
  expired: StateProto.EXPIRED,
};
const authStates: Record<AuthTokenView["state"] | "redeemed", AuthStateProto> = {
  pending: AuthStateProto.PENDING,
  attached: AuthStateProto.ATTACHED,
  redeemed: AuthStateProto.REDEEMED,
  used: AuthStateProto.REDEEMED,
  expired: AuthStateProto.EXPIRED,
  revoked: AuthStateProto.REVOKED,
};

/** The push target of a request whose field rules already ran (provider in the list, prid set). */
export function pushTargetOf(device: PushDevice | undefined, field = "device"): PushTarget {
  const provider = device?.pnProvider ?? "";
  if (!isPushProvider(provider)) throw InvalidArgument.field(`${field}.pn_provider`, "in", "must be one of apns.dev, apns, fcm");
  if (device?.pnPrid === undefined) throw InvalidArgument.field(`${field}.pn_prid`, "required", "is required to send a push");
  return { provider, deviceToken: device.pnPrid, ...(device.pnParam === undefined ? {} : { param: device.pnParam }) };
}

/** The account a user call acts for: the JWT subject, which the access table guarantees. */
export function signedIn(actor: Actor): Actor & { readonly subject: string } {
  if (actor.subject === undefined) throw new PermissionDenied("ACCOUNT_REQUIRED", "a signed-in account is required");
  return actor as Actor & { readonly subject: string };
}

export function issuedProto(issued: IssuedToken): IssuedTokenProto {
  return create(IssuedAccountTokenSchema, { token: issued.token, expireTime: timestampFromDate(issued.expiresAt) });
}

export function authStateProto(state: AuthTokenView["state"] | "redeemed"): AuthStateProto {
  return authStates[state];
}

export function listQuery(request: ListAccountTokensRequest): ListQuery {
  const kind = (Object.keys(kinds) as AccountTokenKind[]).find((each) => kinds[each] === request.kind);
  const state = (Object.keys(states) as AccountTokenState[]).find((each) => states[each] === request.state);
  const device = request.device === undefined ? undefined : pushTargetOf(request.device);
  return {
    filter: {
      ...(device === undefined ? {} : { device: { provider: device.provider, deviceToken: device.deviceToken } }),
      ...(request.accountId === "" ? {} : { accountId: request.accountId }),
      ...(kind === undefined ? {} : { kind }),
      ...(state === undefined ? {} : { state }),
    },
    ...(request.pageSize === 0 ? {} : { pageSize: request.pageSize }),
    ...(request.pageToken === "" ? {} : { pageToken: request.pageToken }),
  };
}

export function accountTokenProto(record: AccountTokenRecord): AccountTokenProto {
  const time = (date: Date | undefined) => (date === undefined ? undefined : timestampFromDate(date));
  return create(AccountTokenSchema, {
    tokenId: record.id,
    kind: kinds[record.kind],
    state: states[record.state],
    accountId: record.accountId ?? "",
    pushed: record.pushed,
    createTime: timestampFromDate(record.createdAt),
    expireTime: timestampFromDate(record.expiresAt),
    validateTime: time(record.validatedAt),
    attachTime: time(record.attachedAt),
    useTime: time(record.usedAt),
    revokeTime: time(record.revokedAt),
  });
}
