import { describe, expect, it } from "vitest";
import { parseMailbox } from "../../../src/channels/email/mailbox.js";

describe("parseMailbox", () => {
  it.each([
    ["no-reply@example.com", { name: "", address: "no-reply@example.com" }],
    ["onetime <no-reply@example.com>", { name: "onetime", address: "no-reply@example.com" }],
    ['"Onetime, Inc." <no-reply@Example.com>', { name: "Onetime, Inc.", address: "no-reply@example.com" }],
  ])("reads %j", (input, mailbox) => {
    expect(parseMailbox(input)).toEqual(mailbox);
  });

  it.each([
    "",
    "onetime",
    "a@example.com, b@example.com",
    "team: a@example.com;",
    "onetime <no-reply@localhost>",
    "onetime <no-reply@example.com>\r\nBcc: eve@example.net",
  ])("refuses %j", (input) => {
    expect(parseMailbox(input)).toBeUndefined();
  });
});
