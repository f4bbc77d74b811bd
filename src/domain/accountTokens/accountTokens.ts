import { AccountCreationTokens } from "./accountCreationTokens.js";
import { AccountTokenAdmin } from "./accountTokenAdmin.js";
import type { AccountTokenDependencies } from "./accountTokenDependencies.js";
import { AuthTokens } from "./authTokens.js";
import { TokenPush } from "./tokenPush.js";

/** Seed 003's account tokens, in the parts the RPCs call. */
export class AccountTokens {
  readonly creation: AccountCreationTokens;
  readonly push: TokenPush;
  readonly auth: AuthTokens;
  readonly admin: AccountTokenAdmin;

  constructor(deps: AccountTokenDependencies) {
    this.creation = new AccountCreationTokens(deps);
    this.push = new TokenPush(deps);
    this.auth = new AuthTokens(deps);
    this.admin = new AccountTokenAdmin(deps);
  }
}
