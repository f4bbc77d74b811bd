import type { DescService } from "@bufbuild/protobuf";
import { Health } from "../../gen/grpc/health/v1/health_pb.js";
import { ServerReflection as ReflectionV1 } from "../../gen/grpc/reflection/v1/reflection_pb.js";
import { ServerReflection as ReflectionV1alpha } from "../../gen/grpc/reflection/v1alpha/reflection_pb.js";
import { TokenService } from "../../gen/onetime/v1/token_service_pb.js";
import { AccountTokenService } from "../../gen/onetime/v1/account_token_service_pb.js";
import { TestInboxService } from "../../gen/onetime/v1/test_inbox_service_pb.js";
import { VerificationService } from "../../gen/onetime/v1/verification_service_pb.js";
import { consumeCallers, operations, TOKEN_OPERATIONS, type TokenOperation } from "../domain/profileTokens/operations.js";
import type { PrincipalKind } from "./principal.js";

/**
 * Which principals may call each RPC, keyed `package.Service/Method`. This table is the whole
 * access policy: an RPC that is not listed cannot be served (see {@link assertCovers}).
 */
export type AccessTable = ReadonlyMap<string, ReadonlySet<PrincipalKind>>;

export function procedureName(service: DescService, methodName: string): string {
  return `${service.typeName}/${methodName}`;
}

export function accessTable(entries: Record<string, readonly PrincipalKind[]>): AccessTable {
  return new Map(Object.entries(entries).map(([procedure, kinds]) => [procedure, new Set(kinds)]));
}

export const everyone: readonly PrincipalKind[] = ["public", "user", "service", "admin"];
export const backends: readonly PrincipalKind[] = ["service", "admin"];
export const admins: readonly PrincipalKind[] = ["admin"];
export const users: readonly PrincipalKind[] = ["user"];

/**
 * Refuses to start a server whose table misses an RPC: a forgotten entry must be a failed start,
 * not an RPC open to everyone or silently closed.
 */
export function assertCovers(table: AccessTable, services: readonly DescService[]): void {
  const missing = services.flatMap((service) =>
    service.methods.map((method) => procedureName(service, method.name)).filter((name) => !table.has(name)),
  );
  if (missing.length > 0) throw new Error(`access table has no entry for: ${missing.join(", ")}`);
}

/** The Request…Token RPC of an operation: `key_change_new_key` is RequestKeyChangeNewKeyToken. */
function requestRpcOf(operation: TokenOperation): string {
  const name = `Request${operation.replace(/(?:^|_)([a-z])/g, (_match, letter: string) => letter.toUpperCase())}Token`;
  // A renamed RPC or operation must fail the start, not leave the RPC out of the table.
  if (!TokenService.methods.some((method) => method.name === name)) throw new Error(`TokenService has no ${name} for the ${operation} operation`);
  return name;
}

/**
 * Seeds 000/001: who may request and consume each OTT is its operation's entry in the operation
 * table (domain/profileTokens/operations.ts); the Request…Token and ConsumeToken entries follow
 * from it. The domain refuses what the RPC alone cannot tell: public callers unless
 * TOKEN_PUBLIC_REQUESTS is on, a user consuming a backend's operation, a user acting on another's
 * profile.
 */
function tokenOperationAccess(): Record<string, readonly PrincipalKind[]> {
  return {
    ...Object.fromEntries(TOKEN_OPERATIONS.map((operation) => [procedureName(TokenService, requestRpcOf(operation)), operations[operation].callers])),
    [`${TokenService.typeName}/ConsumeToken`]: consumeCallers,
  };
}

/**
 * Who may call what: every RPC onetime serves, and the principals it accepts. Start-up fails if
 * an RPC is served without an entry here. Each service's RPCs join this table with that service.
 */
export const access = accessTable({
  // Probes and tooling (load balancers, `buf curl`, grpcurl) call these without credentials.
  [`${Health.typeName}/Check`]: everyone,
  [`${Health.typeName}/Watch`]: everyone,
  [`${Health.typeName}/List`]: everyone,
  [`${ReflectionV1.typeName}/ServerReflectionInfo`]: everyone,
  [`${ReflectionV1alpha.typeName}/ServerReflectionInfo`]: everyone,
  // Seed 002 requires a JWT on every call: verifications are started by a backend on behalf of
  // a consumer, never by the consumer itself.
  [`${VerificationService.typeName}/InitiateVerification`]: backends,
  [`${VerificationService.typeName}/ValidateVerification`]: backends,
  [`${VerificationService.typeName}/GetVerification`]: backends,
  [`${VerificationService.typeName}/InvalidateVerification`]: backends,
  ...tokenOperationAccess(),
  [`${TokenService.typeName}/GetSecurityProfile`]: ["user", "service", "admin"],
  [`${TokenService.typeName}/CreateSecurityProfile`]: ["service"],
  [`${TokenService.typeName}/EnableMfa`]: ["user", "service"],
  // Erasure on an admin's word: no user erases itself through onetime, no backend erases another's user.
  [`${TokenService.typeName}/EraseUser`]: admins,
  // Lifting a "this wasn't me" lock is support's decision, never the (possibly taken-over) user's.
  [`${TokenService.typeName}/UnlockFactorChanges`]: backends,
  // Seed 003: public endpoints (limited per client address), the user's own account (the JWT
  // `sub` is the account; a service's subject is not one), and the admin's.
  [`${AccountTokenService.typeName}/CreateAccountCreationRequestToken`]: everyone,
  [`${AccountTokenService.typeName}/ValidateAccountCreationRequestToken`]: everyone,
  [`${AccountTokenService.typeName}/SendAccountCreationTokenByPush`]: everyone,
  [`${AccountTokenService.typeName}/CreateAccountCreationTokenFromRequestToken`]: everyone,
  [`${AccountTokenService.typeName}/ConsumeAccountCreationToken`]: users,
  [`${AccountTokenService.typeName}/CreateAccountCreationToken`]: admins,
  [`${AccountTokenService.typeName}/SendAccountRecoveryTokenByPush`]: everyone,
  [`${AccountTokenService.typeName}/ConsumeAccountRecoveryToken`]: everyone,
  [`${AccountTokenService.typeName}/CreateAuthToken`]: everyone,
  [`${AccountTokenService.typeName}/AttachAuthToken`]: users,
  [`${AccountTokenService.typeName}/RedeemAuthToken`]: everyone,
  [`${AccountTokenService.typeName}/WatchAuthToken`]: everyone,
  [`${AccountTokenService.typeName}/ListAccountTokens`]: admins,
  [`${AccountTokenService.typeName}/RevokeAccountToken`]: admins,
  // Test mode only: the inbox holds whole messages, codes included.
  [`${TestInboxService.typeName}/ListTestMessages`]: admins,
});
