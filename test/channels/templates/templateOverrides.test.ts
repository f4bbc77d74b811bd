import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { TemplateLoadError, createTemplateRenderer, loadTemplateOverrides } from "../../../src/channels/templates/index.js";
import { ANTI_PHISHING_CODE, EMAIL_KINDS, VIEW } from "./templateCases.js";

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "onetime-templates-"));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Writes `{ "en/token.login/subject.mustache": "…" }` under the temp dir. */
async function write(files: Record<string, string>): Promise<void> {
  for (const [path, content] of Object.entries(files)) {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), content);
  }
}

async function loadError(files: Record<string, string>): Promise<TemplateLoadError> {
  await write(files);
  const error: unknown = await loadTemplateOverrides(dir).then(
    () => undefined,
    (reason: unknown) => reason,
  );
  if (!(error instanceof TemplateLoadError)) throw new Error(`expected a TemplateLoadError, got ${String(error)}`);
  return error;
}

describe("overrides", () => {
  it("replace one part; the others stay built-in", async () => {
    await write({ "en/token.login/subject.mustache": "Sign in to {{productName}} now\n" });
    const renderer = await createTemplateRenderer({ productName: "Acme", overridesDir: dir });
    const builtin = await createTemplateRenderer({ productName: "Acme" });
    const email = renderer.render("token.login", "email", "en", VIEW);
    const original = builtin.render("token.login", "email", "en", VIEW);
    expect(email).toEqual({ ...original, subject: "Sign in to Acme now" });
    expect(renderer.render("token.login", "email", "de", VIEW)).toEqual(builtin.render("token.login", "email", "de", VIEW));
    expect(renderer.render("token.password_recovery", "email", "en", VIEW)).toEqual(builtin.render("token.password_recovery", "email", "en", VIEW));
  });

  it("add locales, tried exactly first, then by language, then the fallback", async () => {
    await write({
      "pt/token.login/sms.mustache": "{{productName}}: o seu código é {{code}}.",
      "pt-BR/token.login/sms.mustache": "{{productName}}: seu código é {{code}}.",
      "pt-BR/token.login/subject.mustache": "Seu código de acesso {{productName}}",
    });
    const renderer = await createTemplateRenderer({ productName: "Acme", overridesDir: dir });
    expect(renderer.locales).toEqual(["de", "en", "pt", "pt-BR"]);
    expect(renderer.render("token.login", "sms", "pt-BR", VIEW).text).toBe("Acme: seu código é 482913.");
    expect(renderer.render("token.login", "sms", "pt-br", VIEW).text).toBe("Acme: seu código é 482913.");
    expect(renderer.render("token.login", "sms", "pt-PT", VIEW).text).toBe("Acme: o seu código é 482913.");
    expect(renderer.render("token.login", "sms", "pt", VIEW).text).toBe("Acme: o seu código é 482913.");
    const email = renderer.render("token.login", "email", "pt-BR", VIEW);
    expect(email.subject).toBe("Seu código de acesso Acme");
    expect(email.text).toMatch(/^Use this code to sign in to Acme:/);
  });

  it("may use the kind's own variables", async () => {
    await write({
      "en/account_recovery/push-body.mustache": "Recover your account at {{link}}",
      "en/verification/text.mustache": "Code {{code}} for verification {{verificationId}}{{#antiPhishingCode}} ({{.}}){{/antiPhishingCode}}",
    });
    const renderer = await createTemplateRenderer({ productName: "Acme", overridesDir: dir });
    const push = renderer.render("account_recovery", "push", "en", { ...VIEW, link: "https://acme.example/r?a=1&b=2" });
    expect(push.body).toBe("Recover your account at https://acme.example/r?a=1&b=2");
    const email = renderer.render("verification", "email", "en", { ...VIEW, verificationId: "v-1", antiPhishingCode: ANTI_PHISHING_CODE });
    expect(email.text).toBe("Code 482913 for verification v-1 (BLUE-FOX)");
  });

  it("get the anti-phishing block when they leave the code out", async () => {
    const files: Record<string, string> = {};
    for (const kind of EMAIL_KINDS) {
      files[`en/${kind}/text.mustache`] = `Your code: {{code}}`;
      files[`en/${kind}/html.mustache`] = `<html><body class="x"><p>Your code: {{code}}</p></body></html>`;
      files[`de/${kind}/html.mustache`] = `<p>Ihr Code: {{code}}</p>`;
    }
    await write(files);
    const renderer = await createTemplateRenderer({ productName: "Acme", overridesDir: dir });
    for (const kind of EMAIL_KINDS) {
      const email = renderer.render(kind, "email", "en", { ...VIEW, antiPhishingCode: ANTI_PHISHING_CODE });
      expect(email.text, kind).toBe(
        "Your anti-phishing code: BLUE-FOX\nEvery genuine email from Acme shows this code.\n\nYour code: 482913",
      );
      expect(email.html, kind).toMatch(/^<html><body class="x">\n<p [^>]*>Your anti-phishing code: <strong>BLUE-FOX<\/strong>.*<\/p><p>Your code: 482913<\/p>/);
      const german = renderer.render(kind, "email", "de", { ...VIEW, antiPhishingCode: ANTI_PHISHING_CODE });
      expect(german.html, kind).toMatch(/^<p [^>]*>Ihr Anti-Phishing-Code: <strong>BLUE-FOX<\/strong>.*<\/p>\n<p>Ihr Code: 482913<\/p>$/);
      expect(german.text, kind).toMatch(/^Ihr Anti-Phishing-Code: BLUE-FOX\n/);
      const without = renderer.render(kind, "email", "en", VIEW);
      expect(without.text, kind).toBe("Your code: 482913");
    }
  });

  it("that show the anti-phishing code themselves are left as written", async () => {
    await write({
      "en/token.login/text.mustache": "{{#antiPhishingCode}}Anti-phishing: {{antiPhishingCode}}\n{{/antiPhishingCode}}Code: {{code}}",
      "en/token.login/html.mustache": "<body><p>{{code}}</p><footer>{{antiPhishingCode}}</footer></body>",
    });
    const renderer = await createTemplateRenderer({ productName: "Acme", overridesDir: dir });
    const email = renderer.render("token.login", "email", "en", { ...VIEW, antiPhishingCode: "A&B" });
    expect(email.text).toBe("Anti-phishing: A&B\nCode: 482913");
    expect(email.html).toBe("<body><p>482913</p><footer>A&amp;B</footer></body>");
  });

  it("may use triple mustache outside HTML, where nothing is escaped anyway", async () => {
    await write({ "en/token.login/text.mustache": "Code: {{{code}}}" });
    const renderer = await createTemplateRenderer({ productName: "Acme", overridesDir: dir });
    expect(renderer.render("token.login", "email", "en", { ...VIEW, code: "<&>" }).text).toBe("Code: <&>");
  });

  it("skip dot-entries and normalise line endings", async () => {
    await write({
      ".gitkeep": "",
      "en/.DS_Store": "binary",
      "en/token.login/.subject.mustache.swp": "junk",
      "en/token.login/text.mustache": "\uFEFFLine one\r\nLine two {{code}}\r\n\r\n",
    });
    const overrides = await loadTemplateOverrides(dir);
    expect([...overrides.templates.keys()]).toEqual(["en/token.login/text"]);
    expect(overrides.templates.get("en/token.login/text")?.template).toBe("Line one\nLine two {{code}}");
  });

  it("may be an empty directory", async () => {
    const overrides = await loadTemplateOverrides(dir);
    expect(overrides.templates.size).toBe(0);
    expect(overrides.locales).toEqual([]);
  });
});

describe("bad overrides are refused at load, naming the file", () => {
  it("invalid mustache syntax", async () => {
    const error = await loadError({ "en/token.login/text.mustache": "Hello\n{{#code}}unclosed" });
    expect(error.source).toBe(join(dir, "en/token.login/text.mustache"));
    expect(error.message).toContain(join(dir, "en/token.login/text.mustache"));
    expect(error.message).toMatch(/invalid mustache syntax: Unclosed section "code"/);
  });

  it("an unclosed tag, with where it is", async () => {
    const error = await loadError({ "en/token.login/html.mustache": "<p>\n  {{code</p>" });
    expect(error.source).toBe(join(dir, "en/token.login/html.mustache"));
    expect(error.problem).toMatch(/Unclosed tag at \d+ \(line 2, column \d+\)/);
  });

  it("an unknown variable", async () => {
    const error = await loadError({ "en/token.login/text.mustache": "Hi {{userName}}, your code is {{code}}" });
    expect(error.source).toBe(join(dir, "en/token.login/text.mustache"));
    expect(error.problem).toBe(
      'unknown variable "userName" (line 1, column 4); this template may use code, expiresInMinutes, productName, antiPhishingCode',
    );
  });

  it("a variable of another kind", async () => {
    const error = await loadError({ "en/token.login/sms.mustache": "Open {{link}}" });
    expect(error.problem).toMatch(/^unknown variable "link"/);
  });

  it.each(["{{user.name}}", "{{#user}}x{{/user}}", "{{^user}}x{{/user}}", "{{.}}", "{{code.length}}"])("an unknown name in %s", async (template) => {
    const error = await loadError({ "en/token.login/text.mustache": template });
    expect(error.problem).toMatch(/^unknown variable/);
  });

  it("an unknown kind", async () => {
    const error = await loadError({ "en/token.logout/subject.mustache": "Bye" });
    expect(error.source).toBe(join(dir, "en/token.logout"));
    expect(error.problem).toMatch(/^unknown message kind "token.logout"; known: token.registration, /);
  });

  it.each([
    ["en/token.login/body.mustache", /expected one of subject.mustache, text.mustache, html.mustache, sms.mustache for token.login/],
    ["en/token.login/subject.txt", /unknown template file/],
    ["en/account_creation/subject.mustache", /expected one of push-title.mustache, push-body.mustache for account_creation/],
    ["en/token.login/push-title.mustache", /unknown template file/],
  ])("an unknown part: %s", async (path, problem) => {
    const error = await loadError({ [path]: "Hello" });
    expect(error.source).toBe(join(dir, path));
    expect(error.problem).toMatch(problem);
  });

  it.each([
    ["EN", 'write the locale as "en"'],
    ["pt-br", 'write the locale as "pt-BR"'],
    ["english!", '"english!" is not a BCP 47 locale tag'],
    ["en_US", 'write the locale as "en-US"'],
  ])("a badly written locale: %s", async (locale, problem) => {
    const error = await loadError({ [`${locale}/token.login/subject.mustache`]: "Hello" });
    expect(error.source).toBe(join(dir, locale));
    expect(error.problem).toContain(problem);
  });

  it.each(["{{{code}}}", "{{& code}}", "{{=<% %>=}}<%{code}%>"])("unescaped output in HTML: %s", async (template) => {
    const error = await loadError({ "en/token.login/html.mustache": `<p>${template}</p>` });
    expect(error.source).toBe(join(dir, "en/token.login/html.mustache"));
    expect(error.problem).toMatch(/skip HTML escaping and are refused in HTML templates; use \{\{code\}\}/);
  });

  it.each([
    ["en/token.login/subject.mustache", "Your code is {{code}}"],
    ["en/token.login/subject.mustache", "{{#code}}You have a code{{/code}}"],
    ["en/account_recovery/push-title.mustache", "Recover: {{link}}"],
    ["de/account_creation/push-title.mustache", "Code {{code}}"],
  ])("a secret in a preview: %s", async (path, template) => {
    const error = await loadError({ [path]: template });
    expect(error.source).toBe(join(dir, path));
    expect(error.problem).toMatch(/must not show \{\{(code|link)\}\}: it appears in inbox previews and on lock screens/);
  });

  it("a subject on two lines, or an empty one", async () => {
    expect((await loadError({ "en/token.login/subject.mustache": "One\nTwo" })).problem).toBe("a subject must be a single line");
    await rm(join(dir, "en"), { recursive: true });
    expect((await loadError({ "en/token.login/subject.mustache": " \n" })).problem).toBe("the template is empty");
  });

  it("partials", async () => {
    const error = await loadError({ "en/token.login/text.mustache": "{{> footer}}" });
    expect(error.problem).toMatch(/partials \(\{\{> footer\}\}\) are not supported/);
  });

  it("files where a directory belongs", async () => {
    const error = await loadError({ "README.md": "templates" });
    expect(error.source).toBe(join(dir, "README.md"));
    expect(error.problem).toMatch(/expected a locale directory/);
  });

  it("a directory that does not exist", async () => {
    const missing = join(dir, "missing");
    await expect(loadTemplateOverrides(missing)).rejects.toThrow(TemplateLoadError);
    await expect(loadTemplateOverrides(missing)).rejects.toThrow(new RegExp(`^${missing}: cannot read the directory`));
  });

  it("and the renderer does not start", async () => {
    await write({ "en/token.login/html.mustache": "{{{code}}}" });
    await expect(createTemplateRenderer({ productName: "Acme", overridesDir: dir })).rejects.toThrow(TemplateLoadError);
  });
});
