import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { exportPKCS8, generateKeyPair } from "jose";
import { ApnsStandIn } from "../channels/push/apnsStandIn.js";
import { CaptchaStandIn } from "../support/captchaStandIn.js";

/** One push the APNs stand-in accepted, as the device would get it. */
export interface ReceivedPush {
  readonly deviceToken: string;
  readonly kind: string;
  readonly token: string;
}

/**
 * APNs (sandbox and production alike) and a CAPTCHA `siteverify` endpoint on local ports, and the
 * environment that points a server at them. The CAPTCHA passes the answer `pass`, refuses every
 * other, and answers 500 to `broken` (see CaptchaStandIn).
 */
export class AccountStandIns {
  private constructor(
    readonly apns: ApnsStandIn,
    private readonly captcha: CaptchaStandIn,
    private readonly dir: string,
    readonly env: Record<string, string>,
  ) {}

  /** Forms the CAPTCHA endpoint was posted, oldest first. */
  get captchaRequests(): URLSearchParams[] {
    return this.captcha.requests;
  }

  static async start(): Promise<AccountStandIns> {
    const pair = await generateKeyPair("ES256", { extractable: true });
    const dir = await mkdtemp(join(tmpdir(), "onetime-accounts-"));
    const keyFile = join(dir, "apns.p8");
    await writeFile(keyFile, await exportPKCS8(pair.privateKey));
    const apns = await ApnsStandIn.start({ publicKey: pair.publicKey, keyId: "KEY1234567", teamId: "TEAM123456", now: Date.now });
    const captcha = await CaptchaStandIn.start();
    const env = {
      APNS_KEY_FILE: keyFile,
      APNS_KEY_ID: "KEY1234567",
      APNS_TEAM_ID: "TEAM123456",
      APNS_TOPIC: "org.example.app",
      APNS_ALLOWED_TOPICS: "org.example.other,org_example.app",
      APNS_SANDBOX_URL: apns.url,
      APNS_PRODUCTION_URL: apns.url,
      ...captcha.env,
    };
    return new AccountStandIns(apns, captcha, dir, env);
  }

  /** Pushes APNs accepted, oldest first. */
  pushes(): ReceivedPush[] {
    return this.apns.requests.map((request) => {
      const body = request.body as Record<string, unknown>;
      return { deviceToken: request.path.replace("/3/device/", ""), kind: String(body.kind), token: String(body.token) };
    });
  }

  /** The token of the last push to this device. */
  lastTokenFor(deviceToken: string): string {
    const push = this.pushes().filter((each) => each.deviceToken === deviceToken).at(-1);
    if (push === undefined) throw new Error(`no push reached ${deviceToken}`);
    return push.token;
  }

  async stop(): Promise<void> {
    await this.apns.close();
    await this.captcha.stop();
    await rm(this.dir, { recursive: true, force: true });
  }
}
