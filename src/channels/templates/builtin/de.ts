import { defineBuiltinLocale } from "./builtinLocale.js";

const IGNORE = "Falls Sie dies nicht angefordert haben, ignorieren Sie diese Nachricht.";
/** SMS are short: the same advice in fewer characters. */
const SMS_IGNORE = "Nicht angefordert? Ignorieren Sie diese SMS.";
const SMS_EXPIRY = "Gültig für {{expiresInMinutes}} Minuten.";

/** German, formal address (Sie). */
export const de = defineBuiltinLocale({
  lang: "de",
  expiry: "Der Code läuft in {{expiresInMinutes}} Minuten ab. Geben Sie ihn an niemanden weiter.",
  ignore: IGNORE,
  noticeExpiry: "Der Code gilt bis {{validUntil}}. Wenn Sie ihn verwenden, werden Änderungen an Ihrer E-Mail-Adresse, Telefonnummer und Zwei-Faktor-Einstellung gesperrt, bis der Support sie freigibt.",
  noticeClosing: "Wenn Sie diese Änderung selbst vorgenommen haben, müssen Sie nichts tun.",
  antiPhishing: {
    label: "Ihr Anti-Phishing-Code",
    hint: "Jede echte E-Mail von {{productName}} zeigt diesen Code.",
  },
  messages: {
    "token.registration": {
      subject: "Bestätigen Sie Ihre Registrierung bei {{productName}}",
      lead: "Verwenden Sie diesen Code, um Ihre Registrierung bei {{productName}} abzuschließen:",
      sms: `{{productName}}: {{code}} ist Ihr Code zum Abschluss der Registrierung. ${SMS_EXPIRY} ${SMS_IGNORE}`,
    },
    "token.login": {
      subject: "Ihr Anmeldecode für {{productName}}",
      lead: "Verwenden Sie diesen Code, um sich bei {{productName}} anzumelden:",
      sms: `{{productName}}: {{code}} ist Ihr Code zur Anmeldung. ${SMS_EXPIRY} ${SMS_IGNORE}`,
    },
    "token.password_recovery": {
      subject: "Passwort für {{productName}} zurücksetzen",
      lead: "Verwenden Sie diesen Code, um Ihr Passwort für {{productName}} zurückzusetzen:",
      sms: `{{productName}}: {{code}} ist Ihr Code zum Zurücksetzen Ihres Passworts. ${SMS_EXPIRY} ${SMS_IGNORE}`,
    },
    "token.key_recovery_verification": {
      subject: "Zugang zu Ihrem Konto bei {{productName}} wiederherstellen",
      lead: "Verwenden Sie diesen Code, um zu bestätigen, dass Sie den Zugang zu Ihrem Konto bei {{productName}} wiederherstellen möchten:",
      sms: `{{productName}}: {{code}} ist Ihr Code zur Wiederherstellung Ihres Kontos. ${SMS_EXPIRY} ${SMS_IGNORE}`,
    },
    "token.key_recovery_new_key": {
      subject: "Bestätigen Sie diese E-Mail-Adresse, um Ihr Konto bei {{productName}} wiederherzustellen",
      lead: "Verwenden Sie diesen Code, um diese E-Mail-Adresse zu bestätigen und die Wiederherstellung Ihres Kontos bei {{productName}} abzuschließen:",
      sms: `{{productName}}: {{code}} ist Ihr Code zur Kontowiederherstellung mit dieser Nummer. ${SMS_EXPIRY} ${SMS_IGNORE}`,
    },
    "token.password_change": {
      subject: "Bestätigen Sie die Änderung Ihres Passworts für {{productName}}",
      lead: "Verwenden Sie diesen Code, um die Änderung Ihres Passworts für {{productName}} zu bestätigen:",
      sms: `{{productName}}: {{code}} ist Ihr Code zur Änderung Ihres Passworts. ${SMS_EXPIRY} ${SMS_IGNORE}`,
    },
    "token.key_adding": {
      subject: "Bestätigen Sie Ihre E-Mail-Adresse für {{productName}}",
      lead: "Verwenden Sie diesen Code, um diese E-Mail-Adresse zu Ihrem Konto bei {{productName}} hinzuzufügen:",
      sms: `{{productName}}: {{code}} ist Ihr Code zum Hinzufügen dieser Nummer. ${SMS_EXPIRY} ${SMS_IGNORE}`,
    },
    "token.key_changing": {
      subject: "Bestätigen Sie eine Änderung an Ihrem Konto bei {{productName}}",
      lead: "Verwenden Sie diesen Code, um die Änderung einer E-Mail-Adresse oder Telefonnummer in Ihrem Konto bei {{productName}} zu bestätigen:",
      sms: `{{productName}}: {{code}} ist Ihr Code zur Änderung einer E-Mail oder Telefonnummer. ${SMS_EXPIRY} ${SMS_IGNORE}`,
    },
    "token.key_changing_new_key": {
      subject: "Bestätigen Sie Ihre neue E-Mail-Adresse für {{productName}}",
      lead: "Verwenden Sie diesen Code, um diese E-Mail-Adresse als neue Adresse für Ihr Konto bei {{productName}} zu bestätigen:",
      sms: `{{productName}}: {{code}} ist Ihr Code zur Bestätigung Ihrer neuen Nummer. ${SMS_EXPIRY} ${SMS_IGNORE}`,
    },
    "token.key_removing": {
      subject: "Bestätigen Sie das Entfernen von Kontaktdaten aus Ihrem Konto bei {{productName}}",
      lead: "Verwenden Sie diesen Code, um das Entfernen einer E-Mail-Adresse oder Telefonnummer aus Ihrem Konto bei {{productName}} zu bestätigen:",
      sms: `{{productName}}: {{code}} ist Ihr Code zum Entfernen einer E-Mail oder Telefonnummer. ${SMS_EXPIRY} ${SMS_IGNORE}`,
    },
    "token.anti_phishing_adding": {
      subject: "Richten Sie Ihren Anti-Phishing-Code für {{productName}} ein",
      lead: "Verwenden Sie diesen Bestätigungscode, um Ihren Anti-Phishing-Code für {{productName}} einzurichten:",
      sms: `{{productName}}: {{code}} ist Ihr Code zum Einrichten Ihres Anti-Phishing-Codes. ${SMS_EXPIRY} ${SMS_IGNORE}`,
    },
    "token.anti_phishing_changing": {
      subject: "Ändern Sie Ihren Anti-Phishing-Code für {{productName}}",
      lead: "Verwenden Sie diesen Bestätigungscode, um Ihren Anti-Phishing-Code für {{productName}} zu ändern:",
      sms: `{{productName}}: {{code}} ist Ihr Code zur Änderung Ihres Anti-Phishing-Codes. ${SMS_EXPIRY} ${SMS_IGNORE}`,
    },
    "token.mfa_disabling": {
      subject: "Zwei-Faktor-Authentifizierung für {{productName}} deaktivieren",
      lead: "Verwenden Sie diesen Code, um die Zwei-Faktor-Authentifizierung für Ihr Konto bei {{productName}} zu deaktivieren:",
      sms: `{{productName}}: {{code}} ist Ihr Code zum Deaktivieren der Zwei-Faktor-Authentifizierung. ${SMS_EXPIRY} ${SMS_IGNORE}`,
    },
    "notice.key_added": {
      subject: "Ihrem Konto bei {{productName}} wurden Kontaktdaten hinzugefügt",
      lead: "Am {{changedAt}} wurde {{key}} zu Ihrem Konto bei {{productName}} hinzugefügt. Falls Sie das nicht waren, melden Sie es mit diesem Code:",
      sms: "{{productName}}: {{key}} wurde am {{changedAt}} zu Ihrem Konto hinzugefügt. Nicht Sie? Melden mit Code {{code}}",
    },
    "notice.key_changed": {
      subject: "Kontaktdaten Ihres Kontos bei {{productName}} wurden geändert",
      lead: "Am {{changedAt}} wurde eine E-Mail-Adresse oder Telefonnummer Ihres Kontos bei {{productName}} in {{key}} geändert. Falls Sie das nicht waren, melden Sie es mit diesem Code:",
      sms: "{{productName}}: Ihre Kontaktdaten wurden am {{changedAt}} in {{key}} geändert. Nicht Sie? Melden mit Code {{code}}",
    },
    "notice.key_recovered": {
      subject: "Kontaktdaten Ihres Kontos bei {{productName}} wurden per Wiederherstellung ersetzt",
      lead: "Am {{changedAt}} hat eine Kontowiederherstellung eine E-Mail-Adresse oder Telefonnummer Ihres Kontos bei {{productName}} durch {{key}} ersetzt. Falls Sie das nicht waren, melden Sie es mit diesem Code:",
      sms: "{{productName}}: Eine Wiederherstellung hat Ihre Kontaktdaten am {{changedAt}} durch {{key}} ersetzt. Nicht Sie? Melden mit Code {{code}}",
    },
    "notice.key_removed": {
      subject: "Aus Ihrem Konto bei {{productName}} wurden Kontaktdaten entfernt",
      lead: "Am {{changedAt}} wurde {{key}} aus Ihrem Konto bei {{productName}} entfernt. Falls Sie das nicht waren, melden Sie es mit diesem Code:",
      sms: "{{productName}}: {{key}} wurde am {{changedAt}} aus Ihrem Konto entfernt. Nicht Sie? Melden mit Code {{code}}",
    },
    "notice.mfa_disabled": {
      subject: "Die Zwei-Faktor-Authentifizierung Ihres Kontos bei {{productName}} wurde deaktiviert",
      lead: "Am {{changedAt}} wurde die Zwei-Faktor-Authentifizierung für {{key}} in Ihrem Konto bei {{productName}} deaktiviert. Falls Sie das nicht waren, melden Sie es mit diesem Code:",
      sms: "{{productName}}: Die Zwei-Faktor-Authentifizierung für {{key}} wurde am {{changedAt}} deaktiviert. Nicht Sie? Melden mit Code {{code}}",
    },
    verification: {
      subject: "Ihr Bestätigungscode für {{productName}}",
      lead: "Verwenden Sie diesen Code, um die Bestätigung bei {{productName}} abzuschließen:",
      sms: `{{productName}}: {{code}} ist Ihr Bestätigungscode. ${SMS_EXPIRY} ${SMS_IGNORE}`,
    },
    account_creation: {
      title: "Schließen Sie die Erstellung Ihres Kontos bei {{productName}} ab",
      body: `Öffnen Sie {{productName}} auf diesem Gerät, um die Erstellung Ihres Kontos abzuschließen. Die Anfrage läuft in {{expiresInMinutes}} Minuten ab. ${IGNORE}`,
    },
    account_recovery: {
      title: "Stellen Sie Ihr Konto bei {{productName}} wieder her",
      body: `Öffnen Sie {{productName}} auf diesem Gerät, um Ihr Konto wiederherzustellen. Die Anfrage läuft in {{expiresInMinutes}} Minuten ab. ${IGNORE}`,
    },
  },
});
