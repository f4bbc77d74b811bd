import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { callDeadlineMs } from "../clients/types.js";

/**
 * Stands in for an SMS provider (the server's `SMS_PROVIDER=webhook`): TokenService scenarios read
 * the OTTs the server sends from here, as a user would from their phone. One per bench process,
 * shared by every server it starts; it never keeps the process alive.
 */
export interface SmsSink {
  /** SMS_WEBHOOK_URL and SMS_WEBHOOK_BODY_TEMPLATE for the server under test. */
  readonly env: Readonly<Record<string, string>>;
  /** The code in the next SMS to `to` (the first run of 6 digits); call it before the request. */
  nextCode(to: string): Promise<string>;
}

let shared: Promise<SmsSink> | undefined;

export function smsSink(): Promise<SmsSink> {
  return (shared ??= startSink());
}

async function startSink(): Promise<SmsSink> {
  const waiting = new Map<string, (text: string) => void>();
  const server = createServer((request, response) => {
    let body = "";
    request.setEncoding("utf8");
    request.on("data", (chunk: string) => (body += chunk));
    request.on("end", () => {
      response.writeHead(200, { "content-type": "application/json" }).end("{}");
      try {
        const { to, text } = JSON.parse(body) as { to: string; text: string };
        waiting.get(to)?.(text);
        waiting.delete(to);
      } catch {
        // Not a message from the template below: nobody waits for it.
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  server.unref();
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/sms`;
  return {
    env: { SMS_PROVIDER: "webhook", SMS_WEBHOOK_URL: url, SMS_WEBHOOK_BODY_TEMPLATE: '{"to":"{{to}}","text":"{{text}}"}' },
    nextCode(to) {
      return new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => {
          waiting.delete(to);
          reject(new Error(`no SMS to ${to} within ${callDeadlineMs} ms`));
        }, callDeadlineMs);
        waiting.set(to, (text) => {
          clearTimeout(timer);
          const code = /\b(\d{6})\b/.exec(text)?.[1];
          if (code === undefined) reject(new Error(`no code in the SMS to ${to}`));
          else resolve(code);
        });
      });
    },
  };
}
