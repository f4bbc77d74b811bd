import type { Actor } from "../actor.js";
import { CaptchaFailed, CaptchaNotConfigured } from "../captcha.js";
import { generateAccountToken, withStepTime, type AccountTokenRecord, type IssuedToken } from "./accountToken.js";
import { AccountTokenNotFound, RequestTokenNotValidated } from "./accountTokenErrors.js";
import type { AccountTokenDependencies } from "./accountTokenDependencies.js";

/**
 * Seed 003's account creation: a public request token that a CAPTCHA validates, spent for an
 * account creation token; or one made by an admin, or sent by push (see TokenPush). A user
 * consumes the creation token once, which links it to their account.
 */
export class AccountCreationTokens {
  constructor(private readonly deps: AccountTokenDependencies) {}

  async createRequestToken(actor: Actor): Promise<IssuedToken> {
    await this.deps.clientLimits.admit(actor);
    return this.issue("account_creation_request", actor);
  }

  /**
   * Looks the token up before the CAPTCHA provider is asked, so a made-up token burns none of its
   * quota; the mark itself is one statement after the CAPTCHA passed, so a token is validated
   * once however many callers race (the losers find it validated: not found).
   */
  async validateRequestToken(token: string, captchaResponse: string, actor: Actor): Promise<AccountTokenRecord & { readonly validatedAt: Date }> {
    const { captcha, clientLimits, store, tokenHash } = this.deps;
    await clientLimits.admit(actor);
    if (captcha === undefined) throw new CaptchaNotConfigured();
    const hash = tokenHash(token);
    if (!(await store.awaitsValidation(hash, actor))) throw new AccountTokenNotFound();
    if (!(await captcha.verify(captchaResponse, actor.clientAddress))) throw new CaptchaFailed();
    const record = await store.validateRequest(hash, actor);
    if (record === null) throw new AccountTokenNotFound();
    return withStepTime(record, "validatedAt");
  }

  async createFromRequestToken(requestToken: string, actor: Actor): Promise<IssuedToken> {
    const { clientLimits, store, tokenHash, rules } = this.deps;
    await clientLimits.admit(actor);
    const token = generateAccountToken();
    const outcome = await store.createFromRequest(tokenHash(requestToken), { kind: "account_creation", tokenHash: tokenHash(token), ttlMs: rules.ttlMs.account_creation }, actor);
    if (outcome.status === "not_validated") throw new RequestTokenNotValidated();
    if (outcome.status === "not_found") throw new AccountTokenNotFound();
    return { token, expiresAt: outcome.record.expiresAt };
  }

  /** Links the token to the calling account; the account is the JWT's subject, never a field. */
  async consume(token: string, actor: Actor & { readonly subject: string }): Promise<AccountTokenRecord & { readonly usedAt: Date }> {
    const { clientLimits, store, tokenHash } = this.deps;
    await clientLimits.admit(actor);
    const record = await store.use("account_creation", tokenHash(token), actor.subject, actor);
    if (record === null) throw new AccountTokenNotFound();
    return withStepTime(record, "usedAt");
  }

  /** An admin's token, returned to the admin. */
  create(actor: Actor): Promise<IssuedToken> {
    return this.issue("account_creation", actor);
  }

  private async issue(kind: "account_creation_request" | "account_creation", actor: Actor): Promise<IssuedToken> {
    const token = generateAccountToken();
    const record = await this.deps.store.create({ kind, tokenHash: this.deps.tokenHash(token), ttlMs: this.deps.rules.ttlMs[kind] }, actor);
    return { token, expiresAt: record.expiresAt };
  }
}
