import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A CAPTCHA `siteverify` endpoint on a local port, and the environment that points a server at
 * it (as hCaptcha). It passes the answer `pass` with the secret `captcha-secret`, refuses every
 * other, and answers 500 to `broken`; `requests` holds every form it was posted, oldest first.
 */
export class CaptchaStandIn {
  private constructor(
    private readonly server: Server,
    readonly env: Record<string, string>,
    readonly requests: URLSearchParams[],
  ) {}

  static async start(): Promise<CaptchaStandIn> {
    const requests: URLSearchParams[] = [];
    const server = createServer((request, response) => {
      let body = "";
      request.on("data", (chunk: Buffer) => (body += chunk.toString("utf8")));
      request.on("end", () => {
        const form = new URLSearchParams(body);
        requests.push(form);
        const answer = form.get("response");
        if (answer === "broken") return void response.writeHead(500).end();
        const success = form.get("secret") === "captcha-secret" && answer === "pass";
        response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ success, "error-codes": success ? [] : ["invalid-input-response"] }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const env = {
      CAPTCHA_PROVIDER: "hcaptcha",
      CAPTCHA_SECRET: "captcha-secret",
      CAPTCHA_VERIFY_URL: `http://127.0.0.1:${(server.address() as AddressInfo).port}/siteverify`,
    };
    return new CaptchaStandIn(server, env, requests);
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
