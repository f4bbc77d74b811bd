import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { VerificationMethod } from "../../gen/onetime/v1/verification_service_pb.js";
import { accountTokenClient } from "../support/accountTokenClient.js";
import { startTestServer, type TestServer } from "../support/server.js";
import { failure, verificationClient } from "../support/verificationClient.js";

/**
 * NODE_ENV unset on real stores, as the issue found it: the development CAPTCHA and the console
 * are not there unless named. (startTestServer names them for the other suites; "" unsets.)
 */
describe("a deployment on real stores that names no development convenience", () => {
  let server: TestServer;
  const printed: string[] = [];

  beforeAll(async () => {
    server = await startTestServer(
      "real",
      "no_conveniences",
      { NODE_ENV: "", CAPTCHA_PROVIDER: "", CONSOLE_CHANNELS: "", DISABLED_CHANNELS: "email,sms,push" },
      { consoleOutput: (text) => void printed.push(text) },
    );
  });
  afterAll(async () => {
    await server?.stop();
  });

  it("refuses dev-captcha-ok as no CAPTCHA configured, rather than pass it", async () => {
    const anyone = await accountTokenClient(server.url);
    const { accountCreationRequestToken } = await anyone.createAccountCreationRequestToken({});
    const refused = await failure(anyone.validateAccountCreationRequestToken({ accountCreationRequestToken: accountCreationRequestToken!.token, captchaResponse: "dev-captcha-ok" }));
    expect(refused).toMatchObject({ code: Code.FailedPrecondition, reason: "CAPTCHA_NOT_CONFIGURED" });
  });

  it("refuses a code it has no channel for, and prints nothing", async () => {
    const client = await verificationClient(server.url);
    for (const [method, consumer] of [[VerificationMethod.EMAIL, "ada@example.com"], [VerificationMethod.PHONE, "+447911123456"]] as const) {
      expect(await failure(client.initiateVerification({ method, consumer }))).toMatchObject({ code: Code.FailedPrecondition, reason: "CHANNEL_NOT_CONFIGURED" });
    }
    expect(printed).toEqual([]);
  });
});
