import { beforeAll, describe, expect, it } from "vitest";
import type { TemplateRenderer } from "../../../src/domain/messages/messageTemplates.js";
import { createTemplateRenderer } from "../../../src/channels/templates/index.js";
import { ANTI_PHISHING_CODE, BUILTIN_LOCALES, TEMPLATE_CASES, VIEW } from "./templateCases.js";

let renderer: TemplateRenderer;

beforeAll(async () => {
  renderer = await createTemplateRenderer({ productName: "Acme" });
});

describe.each(BUILTIN_LOCALES)("built-in templates, %s", (locale) => {
  for (const { kind, channel } of TEMPLATE_CASES) {
    it(`${kind} by ${channel}`, () => {
      expect(renderer.render(kind, channel, locale, VIEW)).toMatchSnapshot();
      if (channel === "email") {
        const view = { ...VIEW, antiPhishingCode: ANTI_PHISHING_CODE };
        expect(renderer.render(kind, channel, locale, view)).toMatchSnapshot("with anti-phishing code");
      }
    });
  }
});
