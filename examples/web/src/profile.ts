// A signed-in user adds an email address to their security profile: the server sends a one-time
// code to the new address (KEY_ADDITION), the page shows where it went (masked) and when a new
// code may be asked for, and the user types the code to confirm.
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { TokenOperation, type SecurityProfile } from "@onetime/client";
import { connect, describeError, element, keepFragmentInLinks, readSettings } from "./connection.js";

keepFragmentInLinks();

const { tokens } = connect(readSettings());
const keys = element("keys");
const requestForm = element<HTMLFormElement>("request-form");
const emailInput = element<HTMLInputElement>("email");
const sendButton = element<HTMLButtonElement>("send");
const sent = element("sent");
const countdown = element("countdown");
const consumeForm = element<HTMLFormElement>("consume-form");
const codeInput = element<HTMLInputElement>("code");
const result = element("result");
let ticking: ReturnType<typeof setInterval> | undefined;

function showKeys(profile: SecurityProfile | undefined): void {
  const rows = [
    profile?.email ? `Email: ${profile.email}${profile.emailVerified ? " (verified)" : ""}` : "Email: none",
    profile?.phoneNumber ? `Phone: ${profile.phoneNumber}${profile.phoneNumberVerified ? " (verified)" : ""}` : "Phone: none",
  ];
  keys.replaceChildren(...rows.map((row) => Object.assign(document.createElement("li"), { textContent: row })));
}

/** Counts down to next_resend_time: the server refuses an earlier request (RESEND_TOO_SOON). */
function countDownTo(resendAt: Date): void {
  clearInterval(ticking);
  const tick = () => {
    const seconds = Math.ceil((resendAt.getTime() - Date.now()) / 1000);
    sendButton.disabled = seconds > 0;
    countdown.textContent = seconds > 0 ? `You can ask for a new code in ${seconds} s.` : "You can ask for a new code now.";
    if (seconds <= 0) clearInterval(ticking);
  };
  tick();
  ticking = setInterval(tick, 1000);
}

requestForm.addEventListener("submit", (event) => {
  event.preventDefault();
  void (async () => {
    sent.textContent = "Sending…";
    try {
      const { token } = await tokens.requestKeyAdditionToken({ newKey: { key: { case: "email", value: emailInput.value.trim() } } });
      sent.dataset.state = "sent";
      sendButton.textContent = "Resend code";
      sent.textContent = `We sent a code to ${token?.destination ?? "the new address"}.`;
      if (token?.nextResendTime !== undefined) countDownTo(timestampDate(token.nextResendTime));
      consumeForm.hidden = false;
      codeInput.focus();
    } catch (error) {
      sent.dataset.state = "error";
      sent.textContent = describeError(error);
    }
  })();
});

consumeForm.addEventListener("submit", (event) => {
  event.preventDefault();
  void (async () => {
    try {
      const consumed = await tokens.consumeToken({ operation: TokenOperation.KEY_ADDITION, token: codeInput.value.trim() });
      result.dataset.state = "added";
      result.textContent = `Added ${consumed.profile?.email ?? "the address"}.`;
      showKeys(consumed.profile);
      consumeForm.hidden = true;
      clearInterval(ticking);
      countdown.textContent = "";
    } catch (error) {
      // WRONG_TOKEN carries attempts_left; TOKEN_NOT_FOUND: expired or replaced by a resend.
      result.dataset.state = "error";
      result.textContent = describeError(error);
    }
  })();
});

tokens.getSecurityProfile({}).then(
  ({ profile }) => showKeys(profile),
  (error: unknown) => keys.replaceChildren(Object.assign(document.createElement("li"), { textContent: describeError(error) })),
);
