import type { ConnectRouter } from "@connectrpc/connect";
import { VerificationService } from "../../../gen/onetime/v1/verification_service_pb.js";
import { actorOf } from "../actor.js";
import { idOf } from "../requestFields.js";
import type { Verifications } from "../../domain/verification/verificationService.js";
import { initiateInput, verificationProto } from "./verificationMapping.js";

/** onetime.v1.VerificationService: decode, call the domain, encode. Rules live in the domain. */
export function registerVerificationService(router: ConnectRouter, verifications: Verifications): void {
  router.service(VerificationService, {
    async initiateVerification(request, context) {
      const initiated = await verifications.initiate(initiateInput(request), actorOf(context));
      return { verification: verificationProto(initiated.verification), totpUri: initiated.totpUri ?? "" };
    },
    async validateVerification(request, context) {
      const verification = await verifications.validate(idOf(request.verificationId), request.code, {
        removeSecret: request.removeSecret,
        actor: actorOf(context),
      });
      return { verification: verificationProto(verification) };
    },
    async getVerification(request) {
      return { verification: verificationProto(await verifications.get(idOf(request.verificationId))) };
    },
    async invalidateVerification(request) {
      await verifications.invalidate(idOf(request.verificationId));
      return {};
    },
  });
}
