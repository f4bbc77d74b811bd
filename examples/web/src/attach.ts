// The signed-in side of device pairing: the user types (or scans) the token another device shows,
// and this page attaches it to the user's account with the user's bearer token.
import { connect, describeError, element, keepFragmentInLinks, readSettings } from "./connection.js";

keepFragmentInLinks();

const { accountTokens } = connect(readSettings());
const form = element<HTMLFormElement>("attach-form");
const input = element<HTMLInputElement>("auth-token");
const result = element("result");

form.addEventListener("submit", (event) => {
  event.preventDefault();
  void (async () => {
    result.dataset.state = "busy";
    result.textContent = "Attaching…";
    try {
      const { attachTime } = await accountTokens.attachAuthToken({ authToken: input.value.trim() });
      const when = attachTime === undefined ? "" : ` at ${new Date(Number(attachTime.seconds) * 1000).toLocaleTimeString()}`;
      result.dataset.state = "attached";
      result.textContent = `Attached${when}: the other device is signing in.`;
      input.value = "";
    } catch (error) {
      // ACCOUNT_TOKEN_NOT_FOUND: mistyped, expired or already used; the same for all three.
      result.dataset.state = "error";
      result.textContent = describeError(error);
    }
  })();
});
