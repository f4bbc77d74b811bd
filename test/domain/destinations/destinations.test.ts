import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { requireEmailAddress } from "../../../src/domain/destinations/emailAddress.js";
import { requirePhoneNumber } from "../../../src/domain/destinations/phoneNumber.js";
import { requirePushTarget } from "../../../src/domain/destinations/pushTarget.js";
import { InvalidArgument } from "../../../src/errors/domainError.js";
import { toConnectError } from "../../../src/rpc/interceptors/errorBoundary.js";

function refusal(run: () => unknown): ConnectError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidArgument);
    return toConnectError(error);
  }
  throw new Error("accepted");
}

describe("destinations are checked where they enter", () => {
  it("normalises good ones", () => {
    expect(requireEmailAddress("Ada@Example.COM", "consumer")).toBe("Ada@example.com");
    expect(requirePhoneNumber("+1 (415) 555-2671", "consumer")).toBe("+14155552671");
    expect(requirePushTarget({ provider: "fcm", deviceToken: "abc:DEF-123_x" }, "")).toEqual({ provider: "fcm", deviceToken: "abc:DEF-123_x" });
  });

  it("answers invalid_argument naming the request field", () => {
    const email = refusal(() => requireEmailAddress("ada@@example.com", "consumer"));
    expect(email.code).toBe(Code.InvalidArgument);
    expect(email.rawMessage).toMatch(/^consumer: /);
    const phone = refusal(() => requirePhoneNumber("+1 555 555 5555", "new_user_key"));
    expect(phone.rawMessage).toMatch(/^new_user_key: /);
    const push = refusal(() => requirePushTarget({ provider: "fcm", deviceToken: "bad token!" }, "device."));
    expect(push.rawMessage).toMatch(/^device\.pn_prid: /);
  });
});
