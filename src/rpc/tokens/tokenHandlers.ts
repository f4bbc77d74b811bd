import type { ConnectRouter, HandlerContext } from "@connectrpc/connect";
import { TokenOperation as OperationProto, TokenService } from "../../../gen/onetime/v1/token_service_pb.js";
import type { RequestInput, TokenOperation } from "../../domain/profileTokens/operations.js";
import type { ProfileTokens } from "../../domain/profileTokens/profileTokens.js";
import type { SecurityProfiles } from "../../domain/profileTokens/securityProfiles.js";
import type { UserErasure } from "../../domain/erasure/userErasure.js";
import { actorOf } from "../actor.js";
import { given, idOf } from "../requestFields.js";
import { issuedProto, keyInputOf, keyTypeOf, operationOf, operationProto, profileProto, userKeyOf, userKeyProto } from "./tokenMapping.js";

/** onetime.v1.TokenService: decode, call the domain, encode. Rules live in the domain. */
export function registerTokenService(router: ConnectRouter, tokens: ProfileTokens, profiles: SecurityProfiles, erasure: UserErasure): void {
  const issue = async (operation: TokenOperation, input: RequestInput, context: HandlerContext) => ({
    token: issuedProto(await tokens.request(operation, input, actorOf(context))),
  });
  const common = (request: { userId?: string; locale: string }) => ({
    ...(given(request.userId ?? "") === undefined ? {} : { userId: request.userId }),
    ...(given(request.locale) === undefined ? {} : { locale: request.locale }),
  });
  const processing = (id: string) => (given(id) === undefined ? {} : { processingId: idOf(id) });
  const captcha = (response: string) => (given(response) === undefined ? {} : { captchaResponse: response });

  router.service(TokenService, {
    async requestRegistrationToken(request, context) {
      const input = { ...common(request), ...processing(request.processingId), ...captcha(request.captchaResponse), key: userKeyOf(request.key, "key") };
      return { ...(await issue("registration", input, context)), processingId: idOf(request.processingId) };
    },
    async requestLoginToken(request, context) {
      const input = { ...common(request), ...processing(request.processingId), keyType: keyTypeOf(request.keyType, "key_type") };
      return { ...(await issue("login", input, context)), processingId: idOf(request.processingId) };
    },
    async requestPasswordRecoveryToken(request, context) {
      const input = { ...common(request), ...processing(request.processingId), ...captcha(request.captchaResponse), key: userKeyOf(request.key, "key") };
      return { ...(await issue("password_recovery", input, context)), processingId: idOf(request.processingId) };
    },
    requestKeyRecoveryToken: (request, context) => issue("key_recovery", { ...common(request), keyType: keyTypeOf(request.lostKeyType, "lost_key_type") }, context),
    requestKeyRecoveryNewKeyToken: (request, context) =>
      issue("key_recovery_new_key", { ...common(request), step1Token: request.step1Token, key: userKeyOf(request.newKey, "new_key") }, context),
    requestPasswordChangeToken: (request, context) => issue("password_change", common(request), context),
    requestKeyAdditionToken: (request, context) => issue("key_addition", { ...common(request), key: userKeyOf(request.newKey, "new_key") }, context),
    requestKeyChangeToken: (request, context) => issue("key_change", { ...common(request), keyType: keyTypeOf(request.keyType, "key_type") }, context),
    requestKeyChangeNewKeyToken: (request, context) =>
      issue("key_change_new_key", { ...common(request), step1Token: request.step1Token, key: userKeyOf(request.newKey, "new_key") }, context),
    requestKeyRemovalToken: (request, context) => issue("key_removal", { ...common(request), keyType: keyTypeOf(request.keyType, "key_type") }, context),
    requestAntiPhishingCodeToken: (request, context) =>
      issue("anti_phishing_code", { ...common(request), ...(request.destinationType === 0 ? {} : { destinationType: keyTypeOf(request.destinationType, "destination_type") }) }, context),
    requestMfaDisableToken: (request, context) => issue("mfa_disable", { ...common(request), keyType: keyTypeOf(request.keyType, "key_type") }, context),

    async consumeToken(request, context) {
      const userId = given(request.userId) === undefined ? {} : { userId: request.userId };
      const consumed =
        request.operation === OperationProto.FACTOR_CHANGE_REPORT
          ? await tokens.report({ token: request.token, ...userId }, actorOf(context))
          : await tokens.consume(
              {
                operation: operationOf(request.operation),
                token: request.token,
                ...processing(request.processingId),
                ...userId,
                ...(given(request.antiPhishingCode) === undefined ? {} : { antiPhishingCode: request.antiPhishingCode }),
              },
              actorOf(context),
            );
      return {
        operation: operationProto(consumed.operation),
        userId: consumed.userId ?? "",
        ...(consumed.verifiedKey === undefined ? {} : { verifiedKey: userKeyProto(consumed.verifiedKey) }),
        ...(consumed.profile === undefined ? {} : { profile: profileProto(consumed.profile) }),
      };
    },

    async getSecurityProfile(request, context) {
      return { profile: profileProto(await profiles.get(given(request.userId), actorOf(context))) };
    },
    async createSecurityProfile(request, context) {
      const email = keyInputOf(request.email, "email", "email");
      const phone = keyInputOf(request.phoneNumber, "phone", "phone_number");
      const profile = await profiles.create(
        {
          userId: request.userId,
          ...(email === undefined ? {} : { email }),
          ...(phone === undefined ? {} : { phone }),
          ...(given(request.antiPhishingCode) === undefined ? {} : { antiPhishingCode: request.antiPhishingCode }),
        },
        actorOf(context),
      );
      return { profile: profileProto(profile) };
    },
    async unlockFactorChanges(request, context) {
      return { profile: profileProto(await tokens.unlockFactorChanges(request.userId, actorOf(context))) };
    },
    async enableMfa(request, context) {
      return { profile: profileProto(await profiles.enableMfa(given(request.userId), keyTypeOf(request.keyType, "key_type"), actorOf(context))) };
    },
    async eraseUser(request, context) {
      const erased = await erasure.erase(request.userId, actorOf(context));
      return {
        securityProfiles: erased.securityProfiles,
        pendingTokens: erased.pendingTokens,
        accountTokens: erased.accountTokens,
        totpSecrets: erased.totpSecrets,
        auditEvents: erased.auditEvents,
        factorChangeReports: erased.factorChangeReports,
      };
    },
  });
}
