import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AccountTokenRecord } from "../../../src/domain/accountTokens/accountToken.js";
import type { AccountTokens } from "../../../src/domain/accountTokens/accountTokens.js";
import type { AccountTokenStore } from "../../../src/domain/accountTokens/accountTokenStore.js";
import { createTemplateRenderer } from "../../../src/channels/templates/index.js";
import { createLogger } from "../../../src/observability/logger.js";
import { MemoryAuthTokenSignals } from "../../../src/storage/memory/memoryAuthTokenSignals.js";
import { MemorySendLimits } from "../../../src/storage/memory/memorySendLimits.js";
import { buildAccountTokens, domainHashes } from "../../../src/wiring/domain.js";
import { domainHarness, type AccountTokenHarness } from "../../support/domainHarness.js";

const admin = { kind: "admin" as const };
const ada = { kind: "user" as const, subject: "account-ada" };

/** The store, but its steps forget the time they set, as a broken store would. */
function forgetting(store: AccountTokenStore): AccountTokenStore {
  const forget = (record: AccountTokenRecord | null) => (record === null ? null : { ...record, usedAt: undefined, validatedAt: undefined });
  return new Proxy(store, {
    get(target, name: keyof AccountTokenStore) {
      if (name === "use") return async (...args: Parameters<AccountTokenStore["use"]>) => forget(await target.use(...args));
      if (name === "validateRequest") return async (...args: Parameters<AccountTokenStore["validateRequest"]>) => forget(await target.validateRequest(...args));
      return target[name];
    },
  });
}

/** The time a step answers with is the one the store set: a missing one is a bug, never made up. */
describe("account token step times (domain)", () => {
  let h: AccountTokenHarness;
  let broken: AccountTokens;
  beforeAll(async () => {
    h = await (await domainHarness()).accountTokens();
    broken = buildAccountTokens({
      store: forgetting(h.store),
      limits: new MemorySendLimits(),
      hashes: domainHashes(new Uint8Array(32).fill(9)),
      client: { count: 1_000, windowMs: 60_000 },
      delivery: { sendNow: () => Promise.reject(new Error("no push here")) },
      templates: await createTemplateRenderer({ productName: "onetime", fallbackLocale: "en" }),
      signals: new MemoryAuthTokenSignals(),
      rules: { ttlMs: { account_creation_request: 600_000, account_creation: 600_000, account_recovery: 600_000, auth: 600_000 }, device: { count: 3, windowMs: 86_400_000 }, pushTimeoutMs: 5_000 },
      logger: createLogger("silent"),
    });
  });
  afterAll(async () => {
    await h?.close();
  });

  it("answers a consumed token with the time the store recorded", async () => {
    const issued = await h.tokens.creation.create(admin);
    const before = Date.now();
    const used = await h.tokens.creation.consume(issued.token, ada);
    expect(used.usedAt).toBeInstanceOf(Date);
    expect(used.usedAt.getTime()).toBeGreaterThanOrEqual(before - 1_000);
  });

  it("fails, rather than inventing a time, when the store returns no time for the step", async () => {
    const issued = await broken.creation.create(admin);
    await expect(broken.creation.consume(issued.token, ada)).rejects.toThrow("the store returned a token record without usedAt from the step that sets it");
  });
});
