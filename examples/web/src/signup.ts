// Account creation behind a CAPTCHA: a request token first, validated with the CAPTCHA widget's
// answer, then spent for an account creation token, which the new account consumes once.
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { connect, describeError, element, keepFragmentInLinks, readSettings } from "./connection.js";

keepFragmentInLinks();

const settings = readSettings();
const { accountTokens } = connect(settings);
const status = element("status");
const captchaForm = element<HTMLFormElement>("captcha-form");
const captcha = element<HTMLInputElement>("captcha");
const consumeForm = element<HTMLFormElement>("consume-form");
const result = element("result");
let requestToken: string | undefined;
let creationToken: string | undefined;

async function start(): Promise<void> {
  try {
    const { accountCreationRequestToken } = await accountTokens.createAccountCreationRequestToken({});
    requestToken = accountCreationRequestToken?.token;
    const expires = accountCreationRequestToken?.expireTime;
    status.dataset.state = "ready";
    status.textContent = `Prove you are a person to continue${expires === undefined ? "" : ` (before ${timestampDate(expires).toLocaleTimeString()})`}.`;
    captchaForm.hidden = false;
  } catch (error) {
    status.dataset.state = "error";
    status.textContent = describeError(error);
  }
}

captchaForm.addEventListener("submit", (event) => {
  event.preventDefault();
  void (async () => {
    try {
      // A real page sends what its hCaptcha, reCAPTCHA or Turnstile widget produced.
      await accountTokens.validateAccountCreationRequestToken({ accountCreationRequestToken: requestToken ?? "", captchaResponse: captcha.value.trim() });
      const { accountCreationToken } = await accountTokens.createAccountCreationTokenFromRequestToken({ accountCreationRequestToken: requestToken ?? "" });
      creationToken = accountCreationToken?.token;
      captchaForm.hidden = true;
      status.dataset.state = "issued";
      status.textContent = "Passed: you may create an account.";
      consumeForm.hidden = settings.token === undefined;
    } catch (error) {
      // CAPTCHA_FAILED: the request token stays usable, so the widget can be answered again.
      status.dataset.state = "error";
      status.textContent = describeError(error);
    }
  })();
});

consumeForm.addEventListener("submit", (event) => {
  event.preventDefault();
  void (async () => {
    try {
      // The new account (its bearer token) links itself to the creation token, once.
      const { accountId } = await accountTokens.consumeAccountCreationToken({ accountCreationToken: creationToken ?? "" });
      consumeForm.hidden = true;
      result.dataset.state = "created";
      result.textContent = `Account ${accountId} created.`;
    } catch (error) {
      result.dataset.state = "error";
      result.textContent = describeError(error);
    }
  })();
});

void start();
