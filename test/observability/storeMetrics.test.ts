import knexFactory from "knex";
import { Registry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { VerificationMethod } from "../../gen/onetime/v1/verification_service_pb.js";
import { observeStoreCalls } from "../../src/observability/storeCalls.js";
import { createStoreMetrics } from "../../src/observability/storeMetrics.js";
import { observeQueries, statementOperation } from "../../src/storage/sql/observeQueries.js";
import { sampleValue, scrapeMetrics } from "../support/metricsText.js";
import { testDatabaseUrl } from "../support/postgres.js";
import { startTestServer, type TestServer } from "../support/server.js";
import { failure, verificationClient } from "../support/verificationClient.js";


describe("a statement's operation and summary", () => {
  it.each([
    [`select "id", "status" from "onetime_x"."account_tokens" where "token_hash" = $1`, "SELECT", "SELECT account_tokens"],
    [`insert into "s"."outbox" ("kind") values ($1) returning "id"`, "INSERT", "INSERT outbox"],
    [`with changed as (update s.account_tokens set state = 'used' where id = $1 returning *), audited as (insert into s.audit_events select 1) select * from changed`, "UPDATE", "UPDATE account_tokens"],
    [`with upserted as (insert into totp_secrets (a) values ($1) on conflict (a) do update set a = excluded.a returning *) select * from upserted`, "INSERT", "INSERT totp_secrets"],
    [`with due as (select id from outbox where x for update skip locked) update outbox m set status = 'sending' from due`, "UPDATE", "UPDATE outbox"],
    [`select id from outbox where status = 'pending' for no key update`, "SELECT", "SELECT outbox"],
    [`delete from "s"."outbox" where "expires_at" < now()`, "DELETE", "DELETE outbox"],
    [`with x as (select 1) select * from "security_profiles" where y`, "SELECT", "SELECT security_profiles"],
    [`select pg_advisory_lock($1)`, "SELECT", "SELECT"],
    [`create table "s"."onetime_keys" (purpose text)`, "CREATE", "CREATE"],
  ])("%s", (sql, name, summary) => {
    expect(statementOperation(sql)).toMatchObject({ system: "postgresql", name, summary, text: sql });
  });
});

describe("Postgres statements at /metrics", () => {
  it("counts each statement, and a failed one with its SQLSTATE as error_type", async () => {
    const registry = new Registry();
    const metrics = createStoreMetrics(registry);
    const db = knexFactory({ client: "pg", connection: testDatabaseUrl(), pool: { min: 0, max: 1 } });
    try {
      observeQueries(db, observeStoreCalls(undefined, metrics));
      metrics.watchPostgresPool(db);
      await db.raw("select 1 from pg_namespace limit 1");
      await db.raw("select 1 from pg_namespace limit 1");
      await expect(db.raw("select * from no_such_table_here")).rejects.toThrow(/no_such_table_here/);
      const text = await registry.metrics();
      expect(sampleValue(text, "db_client_operation_duration_seconds_count", `db_system_name="postgresql",db_operation_name="SELECT",db_query_summary="SELECT pg_namespace"`)).toBe(2);
      expect(sampleValue(text, "db_client_operation_duration_seconds_count", `db_system_name="postgresql",db_operation_name="SELECT",db_query_summary="SELECT no_such_table_here",error_type="42P01"`)).toBe(1);
      expect(text).toMatch(/onetime_postgres_pool_connections\{state="waiting"\} 0/);
    } finally {
      await db.destroy();
    }
  });
});

describe("store operations of a server at /metrics", () => {
  let server: TestServer;
  let metrics: string;

  beforeAll(async () => {
    server = await startTestServer("real", "store_metrics");
    const client = await verificationClient(server.url);
    const { verification } = await client.initiateVerification({ method: VerificationMethod.EMAIL, consumer: "stored@example.com", policy: { forcedCode: "161803" } });
    await failure(client.validateVerification({ verificationId: verification!.verificationId, code: "000000" }));
    await client.validateVerification({ verificationId: verification!.verificationId, code: "161803" });
    await client.initiateVerification({ method: VerificationMethod.TOTP, consumer: "stored-totp" });
    metrics = await scrapeMetrics(server.metricsUrl);
  });
  afterAll(async () => {
    await server?.stop();
  });

  it("counts every Redis script call by script, never by key", () => {
    const script = (name: string) => sampleValue(metrics, "db_client_operation_duration_seconds_count", `db_system_name="redis",db_operation_name="EVALSHA",db_query_summary="EVALSHA ${name}"`);
    // The email and the TOTP initiation each admit and put; the two validations take.
    expect(script("onetimeLimits_admit")).toBe(2);
    expect(script("onetimeSecrets_put")).toBe(2);
    expect(script("onetimeSecrets_take")).toBe(2);
    // Keys are keyed hashes, so a key in a label would not show the address: check what labels are.
    const summaries = new Set([...metrics.matchAll(/db_query_summary="([^"]*)"/g)].map((match) => match[1]!));
    for (const summary of summaries) expect(summary).toMatch(/^(EVALSHA onetime[A-Za-z]+_[A-Za-z]+|PUBLISH auth-token-changed|[A-Z]+( [a-z_]+)?)$/);
  });

  it("counts the Postgres statements of a call under their table", () => {
    expect(sampleValue(metrics, "db_client_operation_duration_seconds_count", `db_system_name="postgresql",db_operation_name="INSERT",db_query_summary="INSERT totp_secrets"`)).toBe(1);
  });

  it("reports the commands awaiting Redis' reply and the Postgres pool", () => {
    expect(metrics).toMatch(/^onetime_redis_commands_pending \d+$/m);
    expect(metrics).toMatch(/^onetime_postgres_pool_connections\{state="used"\} \d+$/m);
  });
});
