import { randomBytes } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, mkdtemp, rm, stat } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { extname, join, normalize, sep } from "node:path";
import { createClient } from "@connectrpc/connect";
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildWebExample } from "../../examples/web/build.mjs";
import { TestInboxService } from "../../gen/onetime/v1/test_inbox_service_pb.js";
import { TokenService } from "../../gen/onetime/v1/token_service_pb.js";
import { startTestServer, type TestServer } from "../support/server.js";
import { signToken } from "../support/tokens.js";
import { bearerTransport } from "../support/verificationClient.js";

// examples/web as a browser runs it: the built pages served from their own origin (allowed by
// CORS_ORIGINS), Chromium driving them against a real server on real stores, over each wire
// format a browser can speak. The last screen of each flow is kept in test-output/screenshots.
const transports = ["connect-json", "connect-binary", "grpc-web"] as const;
const screenshots = join(process.cwd(), "test-output", "screenshots");
/** The content types a page's calls must carry over each transport (unary, server stream). */
const contentTypesOf: Record<(typeof transports)[number], RegExp> = {
  "connect-json": /^application\/(connect\+)?json$/,
  "connect-binary": /^application\/(connect\+)?proto$/,
  "grpc-web": /^application\/grpc-web\+proto$/,
};

const contentTypes: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".map": "application/json",
};

/** The built example from `dir`, on a free port of 127.0.0.1. */
async function serveStatic(dir: string): Promise<{ origin: string; server: Server }> {
  const server = createServer((request, response) => {
    const path = normalize(join(dir, decodeURIComponent(new URL(request.url ?? "/", "http://x").pathname)));
    const file = path.endsWith(sep) ? join(path, "index.html") : path;
    if (!file.startsWith(dir + sep)) return void response.writeHead(403).end();
    stat(file).then(
      () => {
        response.writeHead(200, { "content-type": contentTypes[extname(file)] ?? "application/octet-stream" });
        createReadStream(file).pipe(response);
      },
      () => void response.writeHead(404).end(),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

describe("examples/web in Chromium", () => {
  let dir: string;
  let site: { origin: string; server: Server };
  let onetime: TestServer;
  let browser: Browser;
  let service: ReturnType<typeof createClient<typeof TokenService>>;
  let inbox: ReturnType<typeof createClient<typeof TestInboxService>>;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "onetime-web-"));
    await buildWebExample(dir);
    site = await serveStatic(dir);
    onetime = await startTestServer("real", "web", { TEST_MODE: "true", CORS_ORIGINS: site.origin });
    browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium", args: ["--no-sandbox"] });
    service = createClient(TokenService, bearerTransport(onetime.url, "connect-json", await signToken({ subject: "web-backend", roles: ["service"] })));
    inbox = createClient(TestInboxService, bearerTransport(onetime.url, "connect-json", await signToken({ subject: "web-admin", roles: ["admin"] })));
    await mkdir(screenshots, { recursive: true });
  });
  afterAll(async () => {
    await browser?.close();
    await onetime?.stop();
    await new Promise((resolve) => site?.server.close(resolve));
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  /** Content type of each call a page made to onetime (preflights aside), by page. */
  const calls = new Map<Page, string[]>();

  /** A page of the example, opened with the server, transport and (for a signed-in page) token in its fragment. */
  async function open(page: string, transport: string, token?: string, origin = site.origin): Promise<Page> {
    const context = await browser.newContext();
    const tab = await context.newPage();
    const made: string[] = [];
    calls.set(tab, made);
    tab.on("request", (request) => {
      if (request.url().startsWith(onetime.url) && request.method() === "POST") made.push(`${new URL(request.url()).pathname} ${request.headers()["content-type"]}`);
    });
    const fragment = new URLSearchParams({ server: onetime.url, transport, ...(token === undefined ? {} : { token }) });
    await tab.goto(`${origin}/${page}#${fragment}`);
    return tab;
  }

  async function codeIn(destination: string): Promise<string> {
    let code: string | undefined;
    await expect
      .poll(async () => (code = (await inbox.listTestMessages({ destination })).messages.map((message) => /\b(\d{6})\b/.exec(message.text)?.[1]).find(Boolean)), {
        timeout: 10_000,
        message: `a code in ${destination}'s test inbox`,
      })
      .toBeDefined();
    return code!;
  }

  it("tells a page served from an origin CORS_ORIGINS does not list that it cannot reach the server", async () => {
    const elsewhere = site.origin.replace("127.0.0.1", "localhost");
    const page = await open("device.html", "connect-json", undefined, elsewhere);
    await page.waitForSelector("#status[data-state='error']");
    expect(await page.textContent("#status")).toBe(`Cannot reach ${onetime.url}: is it running, and is ${elsewhere} in its CORS_ORIGINS?`);
    await page.context().close();
  });

  describe.each(transports)("over %s", (transport) => {
    it("pairs a device: the device shows a token, a signed-in tab attaches it, the device is signed in", async () => {
      const accountId = `web-account-${transport}`;
      const device = await open("device.html", transport);
      await device.waitForSelector("#status[data-state='pending']");
      const shown = (await device.textContent("#auth-token"))!;
      // The token is drawn as a QR code too: a canvas of dark modules on light, as large as a version-3 code or more.
      const drawn = await device.$eval("#auth-token-qr", (element) => {
        // This file is type-checked without the DOM library: the canvas as far as it is used here.
        const canvas = element as unknown as { width: number; height: number; hidden: boolean; getContext(kind: "2d"): { getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray } } };
        const pixels = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
        let dark = 0;
        for (let i = 0; i < pixels.length; i += 4) if (pixels[i]! < 128) dark++;
        return { hidden: canvas.hidden, width: canvas.width, share: dark / (canvas.width * canvas.height) };
      });
      expect(drawn.hidden).toBe(false);
      expect(drawn.width).toBeGreaterThanOrEqual(29 * 6);
      expect(drawn.share).toBeGreaterThan(0.2);
      expect(drawn.share).toBeLessThan(0.8);
      expect(shown).toMatch(/^[A-Za-z0-9_-]{43}$/);

      const signedIn = await open("attach.html", transport, await signToken({ subject: accountId }));
      await signedIn.fill("#auth-token", shown);
      await signedIn.click("button[type='submit']");
      await signedIn.waitForSelector("#result[data-state='attached']");

      await device.waitForSelector("#status[data-state='signed-in']");
      expect(await device.textContent("#status")).toBe(`Signed in as ${accountId}`);
      expect(await device.textContent("#auth-token")).toBe("");
      await device.screenshot({ path: join(screenshots, `device-signed-in-${transport}.png`) });
      await signedIn.screenshot({ path: join(screenshots, `attach-done-${transport}.png`) });

      // The token is spent: attaching it again is refused with its reason.
      await signedIn.fill("#auth-token", shown);
      await signedIn.click("button[type='submit']");
      await signedIn.waitForSelector("#result[data-state='error']");
      expect(await signedIn.textContent("#result")).toMatch(/^ACCOUNT_TOKEN_NOT_FOUND · /);
      expect(calls.get(device)!.map((call) => call.split(" ")[0])).toEqual([
        "/onetime.v1.AccountTokenService/CreateAuthToken",
        "/onetime.v1.AccountTokenService/WatchAuthToken",
        "/onetime.v1.AccountTokenService/RedeemAuthToken",
      ]);
      for (const call of [...calls.get(device)!, ...calls.get(signedIn)!]) expect(call.split(" ")[1]).toMatch(contentTypesOf[transport]);
      await Promise.all([device.context().close(), signedIn.context().close()]);
    });

    it("adds an email: masked destination, resend countdown, a wrong code's reason, then the code from the inbox", async () => {
      const userId = `web-user-${transport}-${randomBytes(3).toString("hex")}`;
      const phone = `+14155550${String(110 + transports.indexOf(transport))}`;
      await service.createSecurityProfile({ userId, phoneNumber: { value: phone, verified: true } });
      const email = `web-${randomBytes(4).toString("hex")}@test.example`;

      const profile = await open("profile.html", transport, await signToken({ subject: userId }));
      await expect.poll(() => profile.textContent("#keys")).toContain(`Phone: ${phone} (verified)`);
      await profile.fill("#email", email);
      await profile.click("#send");
      await profile.waitForSelector("#sent[data-state='sent']");
      const sent = (await profile.textContent("#sent"))!;
      expect(sent).toMatch(/^We sent a code to w\*+@test\.example\.$/);
      expect(sent).not.toContain(email);
      expect(await profile.textContent("#countdown")).toMatch(/^You can ask for a new code in (29|30) s\.$/);
      expect(await profile.isDisabled("#send")).toBe(true);

      const code = await codeIn(email);
      await profile.fill("#code", code === "000000" ? "111111" : "000000");
      await profile.click("#consume-form button");
      await profile.waitForSelector("#result[data-state='error']");
      expect(await profile.textContent("#result")).toMatch(/^WRONG_TOKEN · .* · attempts_left=\d+$/);

      await profile.fill("#code", code);
      await profile.click("#consume-form button");
      await profile.waitForSelector("#result[data-state='added']");
      expect(await profile.textContent("#result")).toBe(`Added ${email}.`);
      expect(await profile.textContent("#keys")).toContain(`Email: ${email} (verified)`);
      await profile.screenshot({ path: join(screenshots, `profile-email-added-${transport}.png`) });
      expect(calls.get(profile)).toHaveLength(4);
      for (const call of calls.get(profile)!) expect(call.split(" ")[1]).toMatch(contentTypesOf[transport]);
      await profile.context().close();
    });

    it("creates an account: request token, a refused CAPTCHA answer, the development key, then the new account consumes its token", async () => {
      const accountId = `web-new-${transport}-${randomBytes(3).toString("hex")}`;
      const signup = await open("signup.html", transport, await signToken({ subject: accountId }));
      await signup.waitForSelector("#status[data-state='ready']");
      await signup.fill("#captcha", "a-robot");
      await signup.click("#captcha-form button");
      await signup.waitForSelector("#status[data-state='error']");
      expect(await signup.textContent("#status")).toMatch(/^CAPTCHA_FAILED · /);

      await signup.fill("#captcha", "dev-captcha-ok");
      await signup.click("#captcha-form button");
      await signup.waitForSelector("#status[data-state='issued']");
      await signup.click("#consume-form button");
      await signup.waitForSelector("#result[data-state='created']");
      expect(await signup.textContent("#result")).toBe(`Account ${accountId} created.`);
      expect(calls.get(signup)!.map((call) => call.split(" ")[0]!.split("/").pop())).toEqual([
        "CreateAccountCreationRequestToken",
        "ValidateAccountCreationRequestToken",
        "ValidateAccountCreationRequestToken",
        "CreateAccountCreationTokenFromRequestToken",
        "ConsumeAccountCreationToken",
      ]);
      for (const call of calls.get(signup)!) expect(call.split(" ")[1]).toMatch(contentTypesOf[transport]);
      await signup.screenshot({ path: join(screenshots, `signup-created-${transport}.png`) });
      await signup.context().close();
    });
  });
});
