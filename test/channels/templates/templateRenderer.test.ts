import { beforeAll, describe, expect, it } from "vitest";
import type { MessageTemplateKind, TemplateRenderer, TemplateView } from "../../../src/domain/messages/messageTemplates.js";
import { createTemplateRenderer } from "../../../src/channels/templates/index.js";
import { localeChain } from "../../../src/channels/templates/localeChain.js";
import { ANTI_PHISHING_CODE, BUILTIN_LOCALES, EMAIL_KINDS, TEMPLATE_CASES, VIEW } from "./templateCases.js";

let renderer: TemplateRenderer;

beforeAll(async () => {
  renderer = await createTemplateRenderer({ productName: "Acme" });
});

/** GSM 03.38: the basic set counts one, the extension table two; anything else forces UCS-2. */
const GSM_BASIC =
  "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
const GSM_EXTENSION = "^{}\\[~]|€\f";

function gsmLength(text: string): number {
  let length = 0;
  for (const character of text) {
    if (GSM_BASIC.includes(character)) length += 1;
    else if (GSM_EXTENSION.includes(character)) length += 2;
    else throw new Error(`${JSON.stringify(character)} is not in the GSM alphabet: ${text}`);
  }
  return length;
}

describe("HTML escaping", () => {
  const productName = "<script>alert(1)</script>";
  const code = `&<>"'`;
  let hostile: TemplateRenderer;

  beforeAll(async () => {
    hostile = await createTemplateRenderer({ productName });
  });

  it.each(BUILTIN_LOCALES)("escapes values in HTML and leaves them raw in text (%s)", (locale) => {
    const email = hostile.render("token.login", "email", locale, { code, expiresInMinutes: 10, antiPhishingCode: "<b>FOX</b>" });
    expect(email.html).not.toContain("<script>");
    expect(email.html).not.toContain("<b>FOX");
    expect(email.html).toContain("&lt;script&gt;alert(1)&lt;&#x2F;script&gt;");
    expect(email.html).toContain("&amp;&lt;&gt;&quot;&#39;");
    expect(email.html).toContain("<strong>&lt;b&gt;FOX&lt;&#x2F;b&gt;</strong>");
    expect(email.text).toContain(productName);
    expect(email.text).toContain(code);
    expect(email.text).toContain("<b>FOX</b>");
    expect(email.subject).toContain(productName);
  });

  it("leaves SMS and push text raw", () => {
    expect(hostile.render("verification", "sms", "en", { code, expiresInMinutes: 5 }).text).toBe(
      `${productName}: ${code} is your verification code. It expires in 5 minutes. If you did not request this, ignore this message.`,
    );
    const push = hostile.render("account_creation", "push", "en", { code, expiresInMinutes: 5 });
    expect(push.title).toBe(`Finish creating your ${productName} account`);
    expect(push.body).toContain(`Open ${productName} on this device`);
  });

  it("keeps subjects and push titles on one line whatever the values hold", async () => {
    const multiline = await createTemplateRenderer({ productName: "Acme\r\nBcc: someone@example.org" });
    expect(multiline.render("token.login", "email", "en", VIEW).subject).toBe("Your Acme Bcc: someone@example.org sign-in code");
    expect(multiline.render("account_recovery", "push", "en", VIEW).title).toBe("Recover your Acme Bcc: someone@example.org account");
  });
});

describe("locale resolution", () => {
  it("builds the chain: exact, less specific, then the fallback", () => {
    expect(localeChain("pt-BR", "en")).toEqual(["pt-BR", "pt", "en"]);
    expect(localeChain("zh-hant-tw", "en")).toEqual(["zh-Hant-TW", "zh-Hant", "zh", "en"]);
    expect(localeChain("de-DE-u-co-phonebk", "en")).toEqual(["de-DE-u-co-phonebk", "de-DE-u-co", "de-DE", "de", "en"]);
    expect(localeChain("de_CH", "en-GB")).toEqual(["de-CH", "de", "en-GB", "en"]);
    expect(localeChain("en-US", "en")).toEqual(["en-US", "en"]);
    expect(localeChain(undefined, "de")).toEqual(["de"]);
    expect(localeChain("not a locale!", "en")).toEqual(["en"]);
    expect(localeChain("x".repeat(200), "en")).toEqual(["en"]);
  });

  const german = () => renderer.render("token.login", "email", "de", VIEW).subject;
  const english = () => renderer.render("token.login", "email", "en", VIEW).subject;

  it.each(["de", "DE", "de-AT", "de-CH-1996", "de_DE"])("serves %s in German", (locale) => {
    expect(renderer.render("token.login", "email", locale, VIEW).subject).toBe(german());
  });

  it.each([undefined, "", "fr", "pt-BR", "en-GB", "??", "x".repeat(500)])("serves %s from the fallback, English", (locale) => {
    expect(renderer.render("token.login", "email", locale, VIEW).subject).toBe(english());
  });

  it("follows a configured fallback locale", async () => {
    const germanFirst = await createTemplateRenderer({ productName: "Acme", fallbackLocale: "de" });
    expect(germanFirst.render("token.login", "email", "fr", VIEW).subject).toBe(german());
    expect(germanFirst.render("token.login", "email", "en-US", VIEW).subject).toBe(english());
  });

  it("refuses a fallback locale that has no templates", async () => {
    await expect(createTemplateRenderer({ productName: "Acme", fallbackLocale: "fr" })).rejects.toThrow(
      /fallbackLocale "fr" has no subject template for token.registration/,
    );
    await expect(createTemplateRenderer({ productName: "Acme", fallbackLocale: "no locale" })).rejects.toThrow(RangeError);
  });

  it("lists its locales", () => {
    expect(renderer.locales).toEqual(["de", "en"]);
  });
});

describe("anti-phishing code", () => {
  const locales = [...BUILTIN_LOCALES, "pt-BR"];

  it.each(locales)("shows in the text and HTML of every email (%s)", (locale) => {
    for (const kind of EMAIL_KINDS) {
      const email = renderer.render(kind, "email", locale, { ...VIEW, antiPhishingCode: ANTI_PHISHING_CODE });
      expect(email.text.split("\n")[0], kind).toMatch(/: BLUE-FOX$/);
      expect(email.html, kind).toMatch(/<body[^>]*>\n<p [^>]*>[^<]*<strong>BLUE-FOX<\/strong>/);
      expect(email.subject, kind).not.toContain(ANTI_PHISHING_CODE);
    }
  });

  it("is not shown, nor its block, when the user has none", () => {
    for (const kind of EMAIL_KINDS) {
      for (const antiPhishingCode of [undefined, ""]) {
        const email = renderer.render(kind, "email", "en", { ...VIEW, antiPhishingCode });
        expect(email.text, kind).not.toContain("anti-phishing code:");
        expect(email.html, kind).not.toContain("<strong>");
      }
    }
  });

  it("gets its block even when the code happens to appear in the message already", () => {
    for (const antiPhishingCode of ["10", "Acme", "482913"]) {
      const email = renderer.render("token.login", "email", "en", { ...VIEW, antiPhishingCode });
      expect(email.text.split("\n")[0]).toBe(`Your anti-phishing code: ${antiPhishingCode}`);
      expect(email.html).toContain(`<strong>${antiPhishingCode}</strong>`);
    }
  });

  it("is left out of SMS and push", () => {
    const view = { ...VIEW, antiPhishingCode: ANTI_PHISHING_CODE };
    expect(renderer.render("token.login", "sms", "en", view).text).not.toContain(ANTI_PHISHING_CODE);
    expect(JSON.stringify(renderer.render("account_recovery", "push", "en", view))).not.toContain(ANTI_PHISHING_CODE);
  });
});

describe("built-in copy", () => {
  it.each(BUILTIN_LOCALES)("never puts the code in a subject or push title (%s)", (locale) => {
    for (const { kind, channel } of TEMPLATE_CASES) {
      const parts = renderer.render(kind, channel, locale, { ...VIEW, link: "https://acme.example/recover/482913" });
      if ("subject" in parts) expect(parts.subject, kind).not.toContain(VIEW.code);
      if ("title" in parts) expect(parts.title, kind).not.toContain(VIEW.code);
    }
  });

  it.each(BUILTIN_LOCALES)("keeps the push token off the lock screen (%s)", (locale) => {
    for (const kind of ["account_creation", "account_recovery"] as const) {
      const push = renderer.render(kind, "push", locale, VIEW);
      expect(push.body, kind).not.toContain(VIEW.code);
    }
  });

  it.each(BUILTIN_LOCALES)("says when the code expires in every message (%s)", (locale) => {
    const view = { ...VIEW, expiresInMinutes: 17 };
    for (const { kind, channel } of TEMPLATE_CASES) {
      const parts = renderer.render(kind, channel, locale, view);
      const shown = "html" in parts ? [parts.text, parts.html] : "body" in parts ? [parts.body] : [parts.text];
      // A notice's report token works for days: its email says until when (an SMS has no room).
      if (kind.startsWith("notice.")) {
        if ("html" in parts) for (const part of shown) expect(part, `${kind} ${channel}`).toContain(VIEW.validUntil);
        continue;
      }
      for (const part of shown) expect(part, `${kind} ${channel}`).toMatch(/17 (minutes|Minuten)/);
    }
  });

  it.each(BUILTIN_LOCALES)("says in every factor-change notice which key changed and when (%s)", (locale) => {
    for (const { kind, channel } of TEMPLATE_CASES.filter((c) => c.kind.startsWith("notice."))) {
      const parts = renderer.render(kind, channel, locale, VIEW);
      const text = "text" in parts ? parts.text : "";
      expect(text, `${kind} ${channel}`).toContain(VIEW.key);
      expect(text, `${kind} ${channel}`).toContain(VIEW.changedAt);
    }
  });

  it.each(BUILTIN_LOCALES)("shows the code in every email and SMS (%s)", (locale) => {
    for (const { kind, channel } of TEMPLATE_CASES.filter((c) => c.channel !== "push")) {
      const parts = renderer.render(kind, channel, locale, VIEW);
      const shown = "html" in parts ? [parts.text, parts.html] : "text" in parts ? [parts.text] : [];
      expect(shown, `${kind} ${channel}`).not.toHaveLength(0);
      for (const part of shown) expect(part, `${kind} ${channel}`).toContain(VIEW.code);
    }
  });

  it.each(BUILTIN_LOCALES)("fits every SMS in one GSM-7 segment with an 8-character code (%s)", (locale) => {
    for (const kind of TEMPLATE_CASES.filter((c) => c.channel === "sms").map((c) => c.kind)) {
      const { text } = renderer.render(kind, "sms", locale, { code: "48291356", expiresInMinutes: 30 });
      expect(gsmLength(text), text).toBeLessThan(160);
    }
  });
});

describe("render", () => {
  it("refuses a channel the kind is not sent by", () => {
    // Typed as any kind, as a caller holding a kind from data would: only the runtime check stops it.
    const anyKind = (kind: MessageTemplateKind): MessageTemplateKind => kind;
    expect(() => renderer.render(anyKind("account_creation"), "email", "en", VIEW)).toThrow(
      new TypeError("account_creation is not sent by email"),
    );
    expect(() => renderer.render(anyKind("token.login"), "push", "en", VIEW)).toThrow(TypeError);
  });

  it("refuses values that are not strings or finite numbers", () => {
    const nan: TemplateView = { code: "1", expiresInMinutes: Number.NaN };
    expect(() => renderer.render("token.login", "sms", "en", nan)).toThrow(/expiresInMinutes must be a string or a finite number/);
    const object = { code: { toString: () => "1" }, expiresInMinutes: 1 } as unknown as TemplateView;
    expect(() => renderer.render("token.login", "sms", "en", object)).toThrow(/code must be a string/);
    const missing = { expiresInMinutes: 1 } as unknown as TemplateView;
    expect(() => renderer.render("token.login", "sms", "en", missing)).toThrow(/code and expiresInMinutes are required/);
  });

  it("renders numbers as written", () => {
    expect(renderer.render("verification", "sms", "en", { code: "000123", expiresInMinutes: 1440 }).text).toContain(
      "000123 is your verification code. It expires in 1440 minutes.",
    );
  });
});
