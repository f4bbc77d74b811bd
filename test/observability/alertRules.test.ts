import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";

/**
 * The alert rules and the dashboard's queries, read by Prometheus' own promtool (Debian's
 * `prometheus` package; .ci/run installs it): they parse, and each alert's expression selects what
 * it should on series made up for it, firing on the trouble it names and quiet on a healthy day.
 * (`for:` is Prometheus' to honour; what is checked is each expression at one instant.)
 */

const run = promisify(execFile);
const deploy = resolve(dirname(fileURLToPath(import.meta.url)), "../../deploy");
const alertsFile = join(deploy, "prometheus/alerts.yml");
const rules = (parseYaml(readFileSync(alertsFile, "utf8")) as { groups: { rules: { alert: string; expr: string }[] }[] }).groups.flatMap((group) => group.rules);
const exprOf = (alert: string) => rules.find((rule) => rule.alert === alert)?.expr ?? `absent(no_rule_named_${alert})`;

interface Case {
  /** What the series show, in promtool's expanding notation, one sample a minute from time 0. */
  readonly series: Record<string, string>;
  /** When the expression is evaluated, e.g. "30m". */
  readonly at: string;
  /** The label sets it selects then (the alert's labels), none when it should stay quiet. */
  readonly fires: Record<string, string>[];
}

const onetime = (labels: string) => `{job="onetime",instance="a:9464",${labels}}`;
const day = 24 * 60;

const cases: Record<string, Record<string, Case>> = {
  OnetimeDeliveryBacklogOld: {
    "a message waiting for 200 s": { series: { [`onetime_queue_oldest_age_seconds${onetime('queue="secrets"')}`]: "0 0 200x10", [`onetime_queue_oldest_age_seconds${onetime('queue="outbox"')}`]: "0x12" }, at: "10m", fires: [{ job: "onetime", queue: "secrets" }] },
    "messages sent within a minute": { series: { [`onetime_queue_oldest_age_seconds${onetime('queue="secrets"')}`]: "0 30 60 10 0 45x10" }, at: "10m", fires: [] },
  },
  OnetimeDeliveryBacklogGrowing: {
    "over 100 waiting and growing": { series: { [`onetime_queue_messages${onetime('queue="outbox"')}`]: "150+10x30" }, at: "25m", fires: [{ job: "onetime", queue: "outbox" }] },
    "over 100 waiting, steady": { series: { [`onetime_queue_messages${onetime('queue="outbox"')}`]: "150x30" }, at: "25m", fires: [] },
    "growing, but few": { series: { [`onetime_queue_messages${onetime('queue="outbox"')}`]: "0+2x30" }, at: "25m", fires: [] },
  },
  OnetimeDeliveryFailing: {
    "a third of the attempts fail": {
      series: { [`onetime_delivery_attempts_total${onetime('kind="sms",provider="twilio",outcome="accepted"')}`]: "0+10x30", [`onetime_delivery_attempts_total${onetime('kind="sms",provider="twilio",outcome="failed"')}`]: "0+5x30" },
      at: "20m",
      fires: [{ job: "onetime", kind: "sms", provider: "twilio" }],
    },
    "every attempt accepted": { series: { [`onetime_delivery_attempts_total${onetime('kind="sms",provider="twilio",outcome="accepted"')}`]: "0+10x30" }, at: "20m", fires: [] },
  },
  OnetimeStoreUnavailable: {
    "Redis calls fail as unavailable": {
      series: { [`db_client_operation_duration_seconds_count${onetime('db_system_name="redis",db_operation_name="EVALSHA",db_query_summary="EVALSHA onetimeSecrets_take",error_type="unavailable"')}`]: "0+3x20" },
      at: "10m",
      fires: [{ job: "onetime", db_system_name: "redis" }],
    },
    "Redis failed once, long ago": {
      series: { [`db_client_operation_duration_seconds_count${onetime('db_system_name="redis",db_operation_name="EVALSHA",db_query_summary="EVALSHA onetimeSecrets_take",error_type="unavailable"')}`]: "0 1x30" },
      at: "20m",
      fires: [],
    },
  },
  OnetimeStoreErrors: {
    "serialization failures every second": {
      series: { [`db_client_operation_duration_seconds_count${onetime('db_system_name="postgresql",db_operation_name="UPDATE",db_query_summary="UPDATE outbox_messages",error_type="40001"')}`]: "0+60x20" },
      at: "10m",
      fires: [{ job: "onetime", db_system_name: "postgresql", error_type: "40001" }],
    },
    "statements that succeed, and an outage (another alert's)": {
      series: {
        [`db_client_operation_duration_seconds_count${onetime('db_system_name="postgresql",db_operation_name="UPDATE",db_query_summary="UPDATE outbox_messages"')}`]: "0+600x20",
        [`db_client_operation_duration_seconds_count${onetime('db_system_name="postgresql",db_operation_name="UPDATE",db_query_summary="UPDATE outbox_messages",error_type="unavailable"')}`]: "0+600x20",
      },
      at: "10m",
      fires: [],
    },
  },
  OnetimeCallsUnavailable: {
    "one call in eleven unavailable": {
      series: {
        [`rpc_server_call_duration_seconds_count${onetime('rpc_system="grpc",rpc_service="onetime.v1.VerificationService",rpc_method="InitiateVerification",rpc_response_status_code="OK"')}`]: "0+100x20",
        [`rpc_server_call_duration_seconds_count${onetime('rpc_system="grpc",rpc_service="onetime.v1.VerificationService",rpc_method="InitiateVerification",rpc_response_status_code="UNAVAILABLE"')}`]: "0+10x20",
      },
      at: "10m",
      fires: [{ job: "onetime" }],
    },
    "refusals are not outages": {
      series: {
        [`rpc_server_call_duration_seconds_count${onetime('rpc_system="grpc",rpc_service="onetime.v1.VerificationService",rpc_method="InitiateVerification",rpc_response_status_code="OK"')}`]: "0+100x20",
        [`rpc_server_call_duration_seconds_count${onetime('rpc_system="grpc",rpc_service="onetime.v1.VerificationService",rpc_method="InitiateVerification",rpc_response_status_code="RESOURCE_EXHAUSTED"')}`]: "0+100x20",
      },
      at: "10m",
      fires: [],
    },
  },
  OnetimePostgresPoolWaiting: {
    "statements waiting for a connection": { series: { [`onetime_postgres_pool_connections${onetime('state="waiting"')}`]: "3x10", [`onetime_postgres_pool_connections${onetime('state="used"')}`]: "10x10" }, at: "5m", fires: [{ job: "onetime", instance: "a:9464" }] },
    "a busy pool, nobody waiting": { series: { [`onetime_postgres_pool_connections${onetime('state="waiting"')}`]: "0x10", [`onetime_postgres_pool_connections${onetime('state="used"')}`]: "10x10" }, at: "5m", fires: [] },
  },
  OnetimeRetentionPurgeStale: {
    // time() is the evaluation time: 60 minutes after 0.
    "the last success an hour ago": { series: { [`onetime_retention_last_success_timestamp_seconds${onetime("")}`]: "0x60" }, at: "60m", fires: [{ job: "onetime" }] },
    "one instance purged 5 minutes ago, another never": {
      series: { [`onetime_retention_last_success_timestamp_seconds${onetime("")}`]: "3300x60", 'onetime_retention_last_success_timestamp_seconds{job="onetime",instance="b:9464"}': "0x60" },
      at: "60m",
      fires: [],
    },
  },
  OnetimeRetentionPurgeFailing: {
    "a round failed": { series: { [`onetime_retention_rounds_total${onetime('outcome="failed"')}`]: "0x10 1x10" }, at: "15m", fires: [{ job: "onetime" }] },
    "rounds purge or find the lock held": { series: { [`onetime_retention_rounds_total${onetime('outcome="failed"')}`]: "0x40", [`onetime_retention_rounds_total${onetime('outcome="busy"')}`]: "0+1x40" }, at: "35m", fires: [] },
  },
  OnetimeSendRefusalsSpike: {
    "thirty a minute after a day of one": {
      series: { [`onetime_send_refusals_total${onetime('rule="prefix_rate",channel="sms",country="GB"')}`]: `0+1x${day} ${day + 1}+30x30` },
      at: `${day + 25}m`,
      fires: [{ job: "onetime", rule: "prefix_rate", channel: "sms" }],
    },
    "a rule that had not fired before": {
      series: { [`onetime_send_refusals_total${onetime('rule="client_limit",channel="profile-tokens",country=""')}`]: `_x${day} 0+30x30` },
      at: `${day + 25}m`,
      fires: [{ job: "onetime", rule: "client_limit", channel: "profile-tokens" }],
    },
    "thirty a minute, as every day": { series: { [`onetime_send_refusals_total${onetime('rule="prefix_rate",channel="sms",country="GB"')}`]: `0+30x${day + 30}` }, at: `${day + 25}m`, fires: [] },
    "a jump from one to two a minute": { series: { [`onetime_send_refusals_total${onetime('rule="prefix_rate",channel="sms",country="GB"')}`]: `0+1x${day} ${day + 1}+2x30` }, at: `${day + 25}m`, fires: [] },
  },
  OnetimeSmsBudgetExhausted: {
    "a budget spent, on two instances": {
      series: { [`onetime_sms_budget_exhausted${onetime('country="GB",window="hour"')}`]: "1x10", 'onetime_sms_budget_exhausted{job="onetime",instance="b:9464",country="GB",window="hour"}': "1x10" },
      at: "5m",
      fires: [{ job: "onetime", country: "GB", window: "hour" }],
    },
    "no budget spent": { series: {}, at: "5m", fires: [] },
  },
};

/** Labels as promtool prints them: sorted, quoted. */
const labelSet = (labels: Record<string, string>) =>
  `{${Object.entries(labels)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, value]) => `${name}="${value}"`)
    .join(", ")}}`;

describe("the alert rules, read by promtool", () => {
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "onetime-alerts-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("parse, and so do the dashboard's queries", async () => {
    await run("promtool", ["check", "rules", alertsFile]);
    // The dashboard's queries as recording rules, with Grafana's variables given values.
    const dashboard = JSON.parse(readFileSync(join(deploy, "grafana/dashboards/onetime.json"), "utf8")) as { panels: { targets?: { expr: string }[] }[] };
    const exprs = dashboard.panels.flatMap((panel) => (panel.targets ?? []).map((target) => target.expr.replaceAll("$__rate_interval", "1m").replaceAll("$job", ".*").replaceAll("$instance", ".*")));
    const file = join(dir, "dashboard-queries.yml");
    await writeFile(file, JSON.stringify({ groups: [{ name: "dashboard", rules: exprs.map((expr, i) => ({ record: `dashboard:query_${i}`, expr })) }] }));
    await run("promtool", ["check", "rules", file]);
  });

  it("has a case where each alert fires and one where it stays quiet", () => {
    for (const rule of rules) {
      const mine = Object.values(cases[rule.alert] ?? {});
      expect(mine.some((each) => each.fires.length > 0), rule.alert).toBe(true);
      expect(mine.some((each) => each.fires.length === 0), rule.alert).toBe(true);
    }
  });

  it.each(Object.entries(cases).flatMap(([alert, named]) => Object.entries(named).map(([name, each]) => [alert, name, each] as const)))("%s: %s", async (alert, name, each) => {
    const test = {
      rule_files: [],
      evaluation_interval: "1m",
      tests: [
        {
          interval: "1m",
          input_series: Object.entries(each.series).map(([series, values]) => ({ series, values })),
          // "* 0 + 1": each label set the alert selects, whatever its value.
          promql_expr_test: [{ expr: `(${exprOf(alert)}) * 0 + 1`, eval_time: each.at, exp_samples: each.fires.map((labels) => ({ labels: labelSet(labels), value: 1 })) }],
        },
      ],
    };
    const file = join(dir, `${alert}-${name.replace(/\W+/g, "_")}.yml`);
    await writeFile(file, JSON.stringify(test));
    const result = await run("promtool", ["test", "rules", file]).catch((error: { stdout?: string; stderr?: string }) => error);
    expect(`${result.stdout ?? ""}${result.stderr ?? ""}`).toContain("SUCCESS");
  });
});
