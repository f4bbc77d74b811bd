import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { ConnectRouter } from "@connectrpc/connect";
import { AccountTokenService } from "../../../gen/onetime/v1/account_token_service_pb.js";
import type { AccountTokens } from "../../domain/accountTokens/accountTokens.js";
import { actorOf } from "../actor.js";
import { idOf } from "../requestFields.js";
import { accountTokenProto, authStateProto, issuedProto, listQuery, pushTargetOf, signedIn } from "./accountTokenMapping.js";

/** onetime.v1.AccountTokenService: decode, call the domain, encode. Rules live in the domain. */
export function registerAccountTokenService(router: ConnectRouter, tokens: AccountTokens): void {
  router.service(AccountTokenService, {
    async createAccountCreationRequestToken(_request, context) {
      return { accountCreationRequestToken: issuedProto(await tokens.creation.createRequestToken(actorOf(context))) };
    },
    async validateAccountCreationRequestToken(request, context) {
      const record = await tokens.creation.validateRequestToken(request.accountCreationRequestToken, request.captchaResponse, actorOf(context));
      return { validateTime: timestampFromDate(record.validatedAt), expireTime: timestampFromDate(record.expiresAt) };
    },
    async sendAccountCreationTokenByPush(request, context) {
      const sent = await tokens.push.send("account_creation", pushTargetOf(request.device), actorOf(context));
      return { expireTime: timestampFromDate(sent.expiresAt) };
    },
    async createAccountCreationTokenFromRequestToken(request, context) {
      return { accountCreationToken: issuedProto(await tokens.creation.createFromRequestToken(request.accountCreationRequestToken, actorOf(context))) };
    },
    async consumeAccountCreationToken(request, context) {
      const actor = signedIn(actorOf(context));
      const record = await tokens.creation.consume(request.accountCreationToken, actor);
      return { accountId: actor.subject, useTime: timestampFromDate(record.usedAt) };
    },
    async createAccountCreationToken(_request, context) {
      return { accountCreationToken: issuedProto(await tokens.creation.create(actorOf(context))) };
    },
    async sendAccountRecoveryTokenByPush(request, context) {
      const sent = await tokens.push.send("account_recovery", pushTargetOf(request.device), actorOf(context));
      return { expireTime: timestampFromDate(sent.expiresAt) };
    },
    async consumeAccountRecoveryToken(request, context) {
      const used = await tokens.push.useRecoveryToken(request.accountRecoveryToken, actorOf(context));
      return { useTime: timestampFromDate(used.usedAt), phone: request.phone };
    },
    async createAuthToken(_request, context) {
      const issued = await tokens.auth.create(actorOf(context));
      return { authToken: issuedProto(issued), deviceSecret: issued.deviceSecret };
    },
    async attachAuthToken(request, context) {
      const attached = await tokens.auth.attach(request.authToken, signedIn(actorOf(context)));
      return { attachTime: timestampFromDate(attached.attachedAt) };
    },
    async redeemAuthToken(request, context) {
      const answer = await tokens.auth.redeem(request.deviceSecret, actorOf(context));
      return { state: authStateProto(answer.state), accountId: answer.state === "redeemed" ? answer.accountId : "" };
    },
    async *watchAuthToken(request, context) {
      for await (const view of tokens.auth.watch(request.deviceSecret, actorOf(context), context.signal)) {
        yield { state: authStateProto(view.state), expireTime: timestampFromDate(view.expiresAt) };
      }
    },
    async listAccountTokens(request) {
      const page = await tokens.admin.list(listQuery(request));
      return { tokens: page.tokens.map(accountTokenProto), nextPageToken: page.nextPageToken ?? "" };
    },
    async revokeAccountToken(request, context) {
      return { token: accountTokenProto(await tokens.admin.revoke(idOf(request.tokenId), actorOf(context))) };
    },
  });
}
