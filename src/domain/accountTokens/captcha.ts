/**
 * Checks a CAPTCHA answer with its provider. Resolves false for an answer the provider refused;
 * rejects with CaptchaUnavailable when the provider cannot say (unreachable, misconfigured).
 */
export interface CaptchaVerifier {
  verify(response: string, clientAddress: string | undefined): Promise<boolean>;
}
