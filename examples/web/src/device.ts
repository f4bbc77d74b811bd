// The device that wants to be signed in (a TV, a new laptop): it shows a short-lived auth token,
// keeps the device secret it was made from, waits for a signed-in device to attach the token,
// then redeems it with the secret for the account.
import { AuthTokenState, type OnetimeClients } from "@onetime/client";
import QRCode from "qrcode";
import { connect, describeError, element, keepFragmentInLinks, readSettings } from "./connection.js";

keepFragmentInLinks();

const { accountTokens } = connect(readSettings());
const status = element("status");
const shown = element("auth-token");
const qr = element<HTMLCanvasElement>("auth-token-qr");
const again = element<HTMLButtonElement>("new-token");
let watching: AbortController | undefined;

async function pair(clients: Pick<OnetimeClients, "accountTokens">): Promise<void> {
  watching?.abort();
  const watch = (watching = new AbortController());
  again.disabled = true;
  shown.textContent = "";
  qr.hidden = true;
  status.textContent = "Asking for a sign-in code…";
  try {
    const created = await clients.accountTokens.createAuthToken({});
    // The secret stays in this closure: it is never shown, stored or put in a URL.
    const { deviceSecret } = created;
    shown.textContent = created.authToken?.token ?? "";
    // The signed-in device scans it (its camera app opens the attach page) or types the text.
    await QRCode.toCanvas(qr, shown.textContent, { margin: 2, scale: 6 });
    qr.hidden = false;
    status.dataset.state = "pending";
    status.textContent = "Waiting for a signed-in device to enter this code…";
    // One message at once (PENDING), one more when the token changes; the stream then ends.
    for await (const update of clients.accountTokens.watchAuthToken({ deviceSecret }, { signal: watch.signal })) {
      if (update.state === AuthTokenState.ATTACHED) {
        const redeemed = await clients.accountTokens.redeemAuthToken({ deviceSecret });
        if (redeemed.state === AuthTokenState.REDEEMED) {
          shown.textContent = "";
          qr.hidden = true;
          status.dataset.state = "signed-in";
          status.textContent = `Signed in as ${redeemed.accountId}`;
          return;
        }
      }
      if (update.state === AuthTokenState.EXPIRED || update.state === AuthTokenState.REVOKED) {
        status.dataset.state = "expired";
        status.textContent = "This code can no longer be used: ask for a new one.";
        return;
      }
    }
  } catch (error) {
    if (watch.signal.aborted) return;
    status.dataset.state = "error";
    status.textContent = describeError(error);
  } finally {
    if (watching === watch) again.disabled = false;
  }
}

again.addEventListener("click", () => void pair({ accountTokens }));
void pair({ accountTokens });
