import { describe, expect, it } from "vitest";
import { outcomeOfSmtpError } from "../../../src/channels/email/smtpOutcome.js";

/** An error shaped the way nodemailer shapes it (see nodemailer/lib/errors NodemailerError). */
function smtpError(fields: { code?: string; command?: string; response?: string; responseCode?: number; originalCode?: string }): Error {
  return Object.assign(new Error(`failed: ${fields.response ?? ""}`), fields);
}

const live = new AbortController().signal;

// The socket-level cases (refused, timeouts, TLS, abort) run against real servers in
// smtpChannel.test.ts; these pin the reply-code table, including replies a test server cannot
// easily produce at the right moment.
describe("outcomeOfSmtpError", () => {
  it.each([
    ["EENVELOPE", "RCPT TO", "550 5.1.1 <bob@example.org>: user unknown", "rejected", "RCPT TO refused: 550 5.1.1 mailbox unavailable"],
    ["EENVELOPE", "RCPT TO", "553 5.1.3 bad address syntax", "rejected", "RCPT TO refused: 553 5.1.3 mailbox name not allowed"],
    ["EMESSAGE", "DATA", "552 5.3.4 message too big", "rejected", "DATA refused: 552 5.3.4 exceeded storage allocation"],
    ["EENVELOPE", "MAIL FROM", "503 5.5.1 bad sequence", "failed", "MAIL FROM refused: 503 5.5.1 bad sequence of commands"],
    ["EENVELOPE", "RCPT TO", "451 4.7.1 greylisted, come back later", "failed", "RCPT TO refused: 451 4.7.1 local error in processing"],
    ["EENVELOPE", "MAIL FROM", "421 4.7.0 too many connections", "failed", "MAIL FROM refused: 421 4.7.0 service not available"],
    ["EMESSAGE", "DATA", "452 insufficient storage", "failed", "DATA refused: 452 insufficient system storage"],
    ["EAUTH", "AUTH PLAIN", "535 5.7.8 authentication failed", "failed", "AUTH PLAIN refused: 535 5.7.8 authentication credentials invalid"],
    ["EPROTOCOL", "CONN", "554 no SMTP service here", "failed", "CONN refused: 554 transaction failed"],
    ["EENVELOPE", "RCPT TO", "599 something new", "rejected", "RCPT TO refused: 599"],
  ])("%s %s %j → %s", (code, command, response, status, reason) => {
    const responseCode = Number(response.slice(0, 3));
    expect(outcomeOfSmtpError(smtpError({ code, command, response, responseCode }), live)).toEqual({ status, reason });
  });

  it("rejects what nodemailer refuses before sending: no reply code, the envelope itself is unusable", () => {
    expect(outcomeOfSmtpError(smtpError({ code: "EENVELOPE", command: "API" }), live)).toEqual({
      status: "rejected",
      reason: "refused before sending (EENVELOPE)",
    });
  });

  it("names socket failures by their codes only", () => {
    expect(outcomeOfSmtpError(smtpError({ code: "EDNS", originalCode: "ENOTFOUND", command: "CONN" }), live)).toEqual({
      status: "failed",
      reason: "smtp error EDNS ENOTFOUND",
    });
  });

  it("drops anything that is not shaped like a code", () => {
    const weird = smtpError({ code: "bob@example.org 493027", command: "RCPT TO <bob@example.org>", response: "493027" });
    expect(outcomeOfSmtpError(weird, live)).toEqual({ status: "failed", reason: "smtp error" });
    expect(outcomeOfSmtpError("a string thrown", live)).toEqual({ status: "failed", reason: "smtp error" });
  });

  it("reports an aborted send by the signal, whatever the error says", () => {
    const controller = new AbortController();
    controller.abort();
    const error = smtpError({ code: "EENVELOPE", responseCode: 550, response: "550 no" });
    expect(outcomeOfSmtpError(error, controller.signal)).toEqual({ status: "failed", reason: "aborted" });
    expect(outcomeOfSmtpError(error, AbortSignal.abort(new DOMException("late", "TimeoutError")))).toEqual({
      status: "failed",
      reason: "timed out",
    });
  });
});
