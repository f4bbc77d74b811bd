import { Health } from "../../gen/grpc/health/v1/health_pb.js";
import { ServerReflection as ReflectionV1 } from "../../gen/grpc/reflection/v1/reflection_pb.js";
import { ServerReflection as ReflectionV1alpha } from "../../gen/grpc/reflection/v1alpha/reflection_pb.js";
import { VerificationService } from "../../gen/onetime/v1/verification_service_pb.js";
import { accessTable, backends, everyone } from "../auth/accessTable.js";

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
});
