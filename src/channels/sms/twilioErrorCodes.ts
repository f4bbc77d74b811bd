/**
 * Twilio error codes that say this recipient (or this message) cannot be served, whatever we
 * retry: the send is `rejected`. Every other error code on a 4xx is ours to fix (credentials,
 * sender, account) and stays `failed`. The descriptions go into the outcome's reason instead of
 * Twilio's own message, which quotes the recipient's number.
 * https://www.twilio.com/docs/api/errors
 */
export const recipientErrorCodes: ReadonlyMap<number, string> = new Map([
  [21211, "invalid 'To' number"],
  [21265, "'To' is a short code"],
  [21266, "'To' is the same as 'From'"],
  [21408, "sending to the 'To' number's region is not enabled"],
  [21608, "'To' is not verified for this trial account"],
  [21610, "recipient has unsubscribed"],
  [21612, "'To' is not reachable by SMS"],
  [21614, "'To' is not a mobile number"],
  [21617, "message body is too long"],
  [21635, "'To' is a landline"],
]);
