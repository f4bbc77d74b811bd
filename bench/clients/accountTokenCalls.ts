import type { MessageInitShape } from "@bufbuild/protobuf";
import type {
  AttachAuthTokenRequestSchema,
  AttachAuthTokenResponse,
  ConsumeAccountCreationTokenRequestSchema,
  ConsumeAccountCreationTokenResponse,
  CreateAccountCreationRequestTokenResponse,
  CreateAccountCreationTokenFromRequestTokenRequestSchema,
  CreateAccountCreationTokenFromRequestTokenResponse,
  CreateAuthTokenResponse,
  RedeemAuthTokenRequestSchema,
  RedeemAuthTokenResponse,
  ValidateAccountCreationRequestTokenRequestSchema,
  ValidateAccountCreationRequestTokenResponse,
} from "../../gen/onetime/v1/account_token_service_pb.js";

/**
 * The AccountTokenService RPCs the scenarios call. Public ones go without a bearer token, as a
 * device's would (so the per-address limit is on their path); `consume` and `attach` carry the
 * pool's user token, as a signed-in account's would.
 */
export interface AccountTokenCalls {
  createRequestToken(): Promise<CreateAccountCreationRequestTokenResponse>;
  validateRequestToken(request: MessageInitShape<typeof ValidateAccountCreationRequestTokenRequestSchema>): Promise<ValidateAccountCreationRequestTokenResponse>;
  createFromRequestToken(request: MessageInitShape<typeof CreateAccountCreationTokenFromRequestTokenRequestSchema>): Promise<CreateAccountCreationTokenFromRequestTokenResponse>;
  consume(request: MessageInitShape<typeof ConsumeAccountCreationTokenRequestSchema>): Promise<ConsumeAccountCreationTokenResponse>;
  createAuthToken(): Promise<CreateAuthTokenResponse>;
  attach(request: MessageInitShape<typeof AttachAuthTokenRequestSchema>): Promise<AttachAuthTokenResponse>;
  redeem(request: MessageInitShape<typeof RedeemAuthTokenRequestSchema>): Promise<RedeemAuthTokenResponse>;
}
