import { defineBuiltinLocale } from "./builtinLocale.js";

const IGNORE = "If you did not request this, ignore this message.";

/** English, the default fallback locale. */
export const en = defineBuiltinLocale({
  lang: "en",
  expiry: "This code expires in {{expiresInMinutes}} minutes. Do not share it with anyone.",
  ignore: IGNORE,
  noticeExpiry: "This code works until {{validUntil}}. Using it locks changes to your email address, phone number and two-factor settings until support unlocks them.",
  noticeClosing: "If you made this change, you need not do anything.",
  antiPhishing: {
    label: "Your anti-phishing code",
    hint: "Every genuine email from {{productName}} shows this code.",
  },
  messages: {
    "token.registration": {
      subject: "Confirm your {{productName}} registration",
      lead: "Use this code to complete your registration with {{productName}}:",
      sms: `{{productName}}: {{code}} is your code to complete your registration. It expires in {{expiresInMinutes}} minutes. ${IGNORE}`,
    },
    "token.login": {
      subject: "Your {{productName}} sign-in code",
      lead: "Use this code to sign in to {{productName}}:",
      sms: `{{productName}}: {{code}} is your code to sign in. It expires in {{expiresInMinutes}} minutes. ${IGNORE}`,
    },
    "token.password_recovery": {
      subject: "Reset your {{productName}} password",
      lead: "Use this code to reset your {{productName}} password:",
      sms: `{{productName}}: {{code}} is your code to reset your password. It expires in {{expiresInMinutes}} minutes. ${IGNORE}`,
    },
    "token.key_recovery_verification": {
      subject: "Recover access to your {{productName}} account",
      lead: "Use this code to confirm that you want to recover access to your {{productName}} account:",
      sms: `{{productName}}: {{code}} is your code to recover your account. It expires in {{expiresInMinutes}} minutes. ${IGNORE}`,
    },
    "token.key_recovery_new_key": {
      subject: "Confirm this email address to recover your {{productName}} account",
      lead: "Use this code to confirm this email address and finish recovering your {{productName}} account:",
      sms: `{{productName}}: {{code}} is your code to recover your account with this number. It expires in {{expiresInMinutes}} minutes. ${IGNORE}`,
    },
    "token.password_change": {
      subject: "Confirm your {{productName}} password change",
      lead: "Use this code to confirm changing your {{productName}} password:",
      sms: `{{productName}}: {{code}} is your code to change your password. It expires in {{expiresInMinutes}} minutes. ${IGNORE}`,
    },
    "token.key_adding": {
      subject: "Confirm your email address for {{productName}}",
      lead: "Use this code to add this email address to your {{productName}} account:",
      sms: `{{productName}}: {{code}} is your code to add this number to your account. It expires in {{expiresInMinutes}} minutes. ${IGNORE}`,
    },
    "token.key_changing": {
      subject: "Confirm a change to your {{productName}} account",
      lead: "Use this code to confirm changing an email address or phone number on your {{productName}} account:",
      sms: `{{productName}}: {{code}} is your code to change your email or phone number. It expires in {{expiresInMinutes}} minutes. ${IGNORE}`,
    },
    "token.key_changing_new_key": {
      subject: "Confirm your new email address for {{productName}}",
      lead: "Use this code to confirm this email address as the new one for your {{productName}} account:",
      sms: `{{productName}}: {{code}} is your code to confirm this as your new number. It expires in {{expiresInMinutes}} minutes. ${IGNORE}`,
    },
    "token.key_removing": {
      subject: "Confirm removing contact details from your {{productName}} account",
      lead: "Use this code to confirm removing an email address or phone number from your {{productName}} account:",
      sms: `{{productName}}: {{code}} is your code to remove an email or phone number. It expires in {{expiresInMinutes}} minutes. ${IGNORE}`,
    },
    "token.anti_phishing_adding": {
      subject: "Set up your {{productName}} anti-phishing code",
      lead: "Use this confirmation code to set up your anti-phishing code for {{productName}}:",
      sms: `{{productName}}: {{code}} is your code to set up your anti-phishing code. It expires in {{expiresInMinutes}} minutes. ${IGNORE}`,
    },
    "token.anti_phishing_changing": {
      subject: "Change your {{productName}} anti-phishing code",
      lead: "Use this confirmation code to change your anti-phishing code for {{productName}}:",
      sms: `{{productName}}: {{code}} is your code to change your anti-phishing code. It expires in {{expiresInMinutes}} minutes. ${IGNORE}`,
    },
    "token.mfa_disabling": {
      subject: "Turn off two-factor authentication for {{productName}}",
      lead: "Use this code to turn off two-factor authentication for your {{productName}} account:",
      sms: `{{productName}}: {{code}} is your code to turn off two-factor authentication. It expires in {{expiresInMinutes}} minutes. ${IGNORE}`,
    },
    "notice.key_added": {
      subject: "Contact details were added to your {{productName}} account",
      lead: "On {{changedAt}}, {{key}} was added to your {{productName}} account. If this wasn't you, report it with this code:",
      sms: "{{productName}}: {{key}} was added to your account on {{changedAt}}. Not you? Report it with code {{code}}",
    },
    "notice.key_changed": {
      subject: "Contact details on your {{productName}} account were changed",
      lead: "On {{changedAt}}, an email address or phone number of your {{productName}} account was changed to {{key}}. If this wasn't you, report it with this code:",
      sms: "{{productName}}: your account's contact details were changed to {{key}} on {{changedAt}}. Not you? Report it with code {{code}}",
    },
    "notice.key_recovered": {
      subject: "Contact details on your {{productName}} account were replaced by account recovery",
      lead: "On {{changedAt}}, account recovery replaced an email address or phone number of your {{productName}} account with {{key}}. If this wasn't you, report it with this code:",
      sms: "{{productName}}: account recovery replaced your contact details with {{key}} on {{changedAt}}. Not you? Report it with code {{code}}",
    },
    "notice.key_removed": {
      subject: "Contact details were removed from your {{productName}} account",
      lead: "On {{changedAt}}, {{key}} was removed from your {{productName}} account. If this wasn't you, report it with this code:",
      sms: "{{productName}}: {{key}} was removed from your account on {{changedAt}}. Not you? Report it with code {{code}}",
    },
    "notice.mfa_disabled": {
      subject: "Two-factor authentication was turned off for your {{productName}} account",
      lead: "On {{changedAt}}, two-factor authentication was turned off for {{key}} on your {{productName}} account. If this wasn't you, report it with this code:",
      sms: "{{productName}}: two-factor authentication was turned off for {{key}} on {{changedAt}}. Not you? Report it with code {{code}}",
    },
    verification: {
      subject: "Your {{productName}} verification code",
      lead: "Use this code to complete your verification with {{productName}}:",
      sms: `{{productName}}: {{code}} is your verification code. It expires in {{expiresInMinutes}} minutes. ${IGNORE}`,
    },
    account_creation: {
      title: "Finish creating your {{productName}} account",
      body: `Open {{productName}} on this device to finish creating your account. This request expires in {{expiresInMinutes}} minutes. ${IGNORE}`,
    },
    account_recovery: {
      title: "Recover your {{productName}} account",
      body: `Open {{productName}} on this device to recover your account. This request expires in {{expiresInMinutes}} minutes. ${IGNORE}`,
    },
  },
});
