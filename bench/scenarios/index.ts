import { TokenService } from "../../gen/onetime/v1/token_service_pb.js";
import { accountCreation } from "./accountCreation.js";
import { authToken } from "./authToken.js";
import { bare } from "./bare.js";
import type { Scenario, ScenarioName } from "./scenario.js";
import { totpValidate } from "./totpValidate.js";
import { validateOnly } from "./validateOnly.js";
import { verificationRoundtrip } from "./verificationRoundtrip.js";
import { wrongCodeMix } from "./wrongCodeMix.js";

export const scenarios: Readonly<Record<ScenarioName, Scenario>> = {
  bare,
  "verification-roundtrip": verificationRoundtrip,
  "wrong-code-mix": wrongCodeMix,
  "validate-only": validateOnly,
  "totp-validate": totpValidate,
  "account-creation": accountCreation,
  "auth-token": authToken,
};

export interface PendingScenario {
  readonly name: string;
  readonly what: string;
  readonly status: string;
}

/**
 * Scenarios the issue asks for whose RPCs do not exist yet: listed in every report rather than
 * faked. The status is read from the generated service, so it says when the RPCs land.
 */
export function pendingScenarios(): PendingScenario[] {
  const status = (methods: number, service: string) =>
    methods === 0 ? `not yet implemented: ${service} declares no RPCs yet` : `not yet implemented: ${service} has ${methods} RPCs but no bench scenario yet`;
  return [
    { name: "token-request-consume", what: "TokenService request + consume", status: status(TokenService.methods.length, "onetime.v1.TokenService") },
  ];
}
