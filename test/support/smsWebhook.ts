import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

export interface SmsWebhook {
  /** Where SMS_WEBHOOK_URL points. */
  readonly url: string;
  /** Every message it was asked to send, in arrival order. */
  readonly received: Array<{ to: string; message: string }>;
  /** The environment a server needs to text through it. */
  readonly env: Record<string, string>;
  close(): Promise<void>;
}

/** A JSON webhook standing in for an SMS provider: it records what it was asked to send. */
export async function startSmsWebhook(): Promise<SmsWebhook> {
  const received: Array<{ to: string; message: string }> = [];
  const server = createServer((request, response) => {
    let body = "";
    request.on("data", (chunk: Buffer) => (body += chunk.toString()));
    request.on("end", () => {
      received.push(JSON.parse(body) as { to: string; message: string });
      response.writeHead(200, { "content-type": "application/json" }).end('{"id":"sms-1"}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/send`;
  return {
    url,
    received,
    env: { SMS_PROVIDER: "webhook", SMS_WEBHOOK_URL: url, SMS_WEBHOOK_BODY_TEMPLATE: '{"to":"{{to}}","message":"{{text}}"}' },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
