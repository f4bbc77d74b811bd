import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { accountTokenClient } from "../support/accountTokenClient.js";
import { sampleValue, scrapeMetrics } from "../support/metricsText.js";
import { backends, startTestServer, type TestServer } from "../support/server.js";

const day = 24 * 3_600_000;

/** The purge as the server wires it: its store, its keyed hash, its metrics on the metrics port. */
describe.each(backends)("retention purge in the server (%s backends)", (backend) => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer(backend, "retention_wiring", { ACCOUNT_TOKEN_CLIENT_LIMIT: "1000" });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it("what 30 anonymous CreateAuthToken calls leave behind ages out: the tokens, and the callers' addresses in the audit trail", async () => {
    const { db } = server.server.app.stores;
    const count = async (table: string, where: (query: ReturnType<typeof db>) => unknown = () => undefined) => {
      const query = db(table);
      where(query);
      return Number((await query.count<{ n: string }[]>("* as n"))[0]!.n);
    };
    const device = await accountTokenClient(server.url);
    for (let i = 0; i < 30; i++) await device.createAuthToken({});
    expect(await count("account_tokens")).toBe(30);
    expect(await count("audit_events", (query) => query.whereNotNull("client_address"))).toBe(30);
    // Metrics exist from the start, at zero.
    expect(sampleValue(await scrapeMetrics(server.metricsUrl), "onetime_retention_rounds_total", 'outcome="purged"')).toBe(0);

    // Eight days on (the defaults: a week's grace, a week of clear addresses; the device window is a day).
    const report = await server.server.app.retention.runOnce(Date.now() + 8 * day);
    expect(report?.rows).toMatchObject({ account_tokens: 30, audit_addresses: 30 });
    expect(await count("account_tokens")).toBe(0);
    expect(await count("audit_events", (query) => query.whereNotNull("client_address"))).toBe(0);
    expect(await count("audit_events", (query) => query.whereNotNull("client_address_hash"))).toBe(30);

    const metrics = await scrapeMetrics(server.metricsUrl);
    expect(sampleValue(metrics, "onetime_retention_rows_total", 'table="account_tokens",action="deleted"')).toBe(30);
    expect(sampleValue(metrics, "onetime_retention_rows_total", 'table="audit_events",action="address_hashed"')).toBe(30);
    expect(sampleValue(metrics, "onetime_retention_rounds_total", 'outcome="purged"')).toBe(1);
  });
});
