import { describe, expect, it } from "vitest";
import { createConsoleChannels } from "../../src/channels/console/consoleChannel.js";

describe("console channel", () => {
  it("prints each kind of message, code included, marked as development output", async () => {
    const printed: string[] = [];
    const channels = createConsoleChannels((text) => printed.push(text));
    const signal = new AbortController().signal;
    await channels.email.send({ kind: "email", to: "ada@example.com", subject: "Your code", text: "Code: 482913", html: "<p>482913</p>" }, signal);
    await channels.sms.send({ kind: "sms", to: "+14155550100", text: "Code 482913" }, signal);
    const outcome = await channels.push.send(
      { kind: "push", to: { provider: "fcm", deviceToken: "abc:123" }, title: "Sign in", body: "Open the app", data: { token: "t-1" } },
      signal,
    );
    expect(outcome).toEqual({ status: "accepted" });
    expect(printed).toHaveLength(3);
    expect(printed[0]).toContain("DEVELOPMENT EMAIL");
    expect(printed[0]).toContain("Code: 482913");
    expect(printed[1]).toContain("+14155550100");
    expect(printed[2]).toContain('"token":"t-1"');
  });
});
