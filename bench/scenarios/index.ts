import { accountCreation } from "./accountCreation.js";
import { authToken } from "./authToken.js";
import { bare } from "./bare.js";
import type { Scenario, ScenarioName } from "./scenario.js";
import { tokenRequestConsume } from "./tokenRequestConsume.js";
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
  "token-request-consume": tokenRequestConsume,
  "account-creation": accountCreation,
  "auth-token": authToken,
};
