import type { Scenario } from "./scenario.js";

/** What the bench answers to the CAPTCHA: the development verifier's pass (no provider is called). */
const captchaResponse = "dev-captcha-ok";

/**
 * Seed 003's account creation, public steps without a bearer token and the last as a signed-in
 * account: CreateAccountCreationRequestToken, ValidateAccountCreationRequestToken (development
 * CAPTCHA), CreateAccountCreationTokenFromRequestToken, ConsumeAccountCreationToken.
 */
export const accountCreation: Scenario = {
  name: "account-creation",
  rpcsPerRound: 4,
  summary: "account creation token: request token, validate (CAPTCHA), create, consume",
  async prepare({ pool }) {
    return {
      notes: {},
      round: async (recorder, slot) => {
        const calls = pool.clients[slot % pool.clients.length]!.accountTokens;
        const request = (await recorder.call(() => calls.createRequestToken())).accountCreationRequestToken?.token ?? "";
        await recorder.call(() => calls.validateRequestToken({ accountCreationRequestToken: request, captchaResponse }));
        const created = await recorder.call(() => calls.createFromRequestToken({ accountCreationRequestToken: request }));
        await recorder.call(() => calls.consume({ accountCreationToken: created.accountCreationToken?.token ?? "" }));
      },
    };
  },
};
