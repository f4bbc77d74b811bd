import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { VerificationMethod } from "../../gen/onetime/v1/verification_service_pb.js";
import { scrapeMetrics } from "../support/metricsText.js";
import { startTestServer, type TestServer } from "../support/server.js";
import { failure, verificationClient } from "../support/verificationClient.js";
import { parse as parseYaml } from "yaml";

/**
 * The Grafana dashboard and the Prometheus alert rules in deploy/ query only what onetime serves:
 * every series they select is on the metrics port's /metrics after a round of traffic (a
 * verification, a send refused by a spent SMS budget, a delivery, a purge round), with the labels
 * they match on and group by. A renamed metric or label, or a typo, fails here rather than
 * leaving an empty panel or an alert that can never fire.
 */

const deploy = resolve(dirname(fileURLToPath(import.meta.url)), "../../deploy");
const read = (path: string) => readFileSync(join(deploy, path), "utf8");

interface Panel {
  id: number;
  type: string;
  title: string;
  datasource?: { uid?: string };
  targets?: { refId?: string; expr?: string; legendFormat?: string }[];
}
interface Dashboard {
  uid: string;
  panels: Panel[];
  templating: { list: { name: string; type: string; query?: string | { query: string } }[] };
}
interface Rule {
  alert?: string;
  expr?: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

const dashboard = JSON.parse(read("grafana/dashboards/onetime.json")) as Dashboard;
const rules = parseYaml(read("prometheus/alerts.yml")) as { groups: { name: string; rules: Rule[] }[] };

/** Every PromQL expression, with where it is and the labels its text shows ({{label}} in a legend, $labels.label in an annotation). */
const queries: { where: string; expr: string; shows: string[] }[] = [
  ...dashboard.panels.flatMap((panel) =>
    (panel.targets ?? []).map((target) => ({ where: `panel "${panel.title}"`, expr: target.expr ?? "", shows: [...(target.legendFormat ?? "").matchAll(/\{\{\s*(\w+)\s*\}\}/g)].map((m) => m[1]!) })),
  ),
  ...dashboard.templating.list
    .filter((variable) => variable.type === "query")
    .map((variable) => {
      const query = typeof variable.query === "string" ? variable.query : (variable.query?.query ?? "");
      // label_values(selector, label): the selector is PromQL, the label one it must carry.
      const [, selector = "", label = ""] = /^label_values\((.*),\s*(\w+)\)$/.exec(query) ?? [];
      return { where: `variable ${variable.name}`, expr: selector, shows: [label] };
    }),
  ...rules.groups.flatMap((group) =>
    group.rules.map((rule) => ({
      where: `alert ${rule.alert}`,
      expr: rule.expr ?? "",
      shows: Object.values(rule.annotations ?? {}).flatMap((text) => [...text.matchAll(/\$labels\.(\w+)/g)].map((m) => m[1]!)),
    })),
  ),
];

const keywords = new Set(["and", "or", "unless", "offset", "bool", "by", "without", "on", "ignoring", "group_left", "group_right", "inf", "nan"]);

/**
 * What a PromQL expression reads: each series it selects (by sample name, with the labels its
 * matchers name), and the labels it groups or matches by. Strings and ranges are dropped first,
 * so `$job` and `$__rate_interval` do not read as names; a name followed by "(" is a function.
 */
function promqlReads(expr: string): { selectors: { name: string; labels: string[] }[]; grouping: string[] } {
  const text = expr.replace(/"(?:[^"\\]|\\.)*"/g, '""').replace(/\[[^\]]*\]/g, " ");
  const grouping: string[] = [];
  const ungrouped = text.replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)/g, (_, labels: string) => {
    grouping.push(...labels.split(",").map((label) => label.trim()).filter((label) => label !== ""));
    return " ";
  });
  const selectors: { name: string; labels: string[] }[] = [];
  for (const match of ungrouped.matchAll(/(?<![\w.$])([a-zA-Z_:][\w:]*)\s*(\{[^}]*\})?\s*(\()?/g)) {
    const [, name = "", matchers, call] = match;
    if (call !== undefined || keywords.has(name.toLowerCase())) continue;
    selectors.push({ name, labels: [...(matchers ?? "").matchAll(/(\w+)\s*(?:=~|!~|!=|=)/g)].map((m) => m[1]!) });
  }
  return { selectors, grouping };
}

describe("the dashboard and the alert rules in deploy/", () => {
  let server: TestServer;
  let metrics: string;

  beforeAll(async () => {
    // A budget of one SMS an hour: the second SMS is refused, which is what the abuse panels and alerts read.
    server = await startTestServer("real", "dashboards", { SMS_COUNTRY_HOURLY_BUDGET: "1" });
    const client = await verificationClient(server.url, "connect-json");
    const { verification } = await client.initiateVerification({ method: VerificationMethod.EMAIL, consumer: "dashboards@example.com", policy: { forcedCode: "271828" } });
    await failure(client.validateVerification({ verificationId: verification!.verificationId, code: "000000" }));
    await client.validateVerification({ verificationId: verification!.verificationId, code: "271828" });
    await client.initiateVerification({ method: VerificationMethod.PHONE, consumer: "+44 20 7946 0958" });
    expect((await failure(client.initiateVerification({ method: VerificationMethod.PHONE, consumer: "+44 20 7946 0959" }))).reason).toBe("SMS_BUDGET_EXHAUSTED");
    await server.server.app.retention.runOnce();
    // The relays send in the background (the email code was used before it went, so it never goes): wait for the SMS.
    await vi.waitFor(
      async () => {
        metrics = await scrapeMetrics(server.metricsUrl);
        expect(metrics).toMatch(/^onetime_delivery_attempts_total\{kind="sms"/m);
      },
      { timeout: 10_000, interval: 50 },
    );
  });
  afterAll(async () => {
    await server?.stop();
  });

  it("gives every dashboard panel and every alert rule a query", () => {
    expect(dashboard.uid).toBe("onetime");
    const ids = dashboard.panels.map((panel) => panel.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const panel of dashboard.panels.filter((each) => each.type !== "row")) {
      expect(panel.targets?.length, panel.title).toBeGreaterThan(0);
      for (const target of panel.targets!) expect(target.expr?.trim(), panel.title).not.toBe("");
      // The data source is chosen on the dashboard, so it imports into any Grafana.
      expect(panel.datasource?.uid, panel.title).toBe("${datasource}");
    }
    expect(rules.groups.length).toBeGreaterThan(0);
    const names = rules.groups.flatMap((group) => group.rules.map((rule) => rule.alert));
    expect(new Set(names).size).toBe(names.length);
    for (const rule of rules.groups.flatMap((group) => group.rules)) {
      expect(rule.alert, JSON.stringify(rule)).toMatch(/^Onetime[A-Za-z]+$/);
      expect(rule.expr?.trim(), rule.alert).not.toBe("");
      if (rule.for !== undefined) expect(rule.for, rule.alert).toMatch(/^\d+[smh]$/);
      expect(["warning", "critical"], rule.alert).toContain(rule.labels?.severity);
      expect(Object.keys(rule.annotations ?? {}).sort(), rule.alert).toEqual(["description", "runbook_url", "summary"]);
    }
  });

  it("links every alert to the section of docs/operations.md that says what to do", () => {
    const headings = readFileSync(join(deploy, "../docs/operations.md"), "utf8")
      .split("\n")
      .filter((line) => line.startsWith("#"))
      .map((line) => line.replace(/^#+\s*/, "").toLowerCase().replace(/[^\w\- ]/g, "").replaceAll(" ", "-"));
    for (const rule of rules.groups.flatMap((group) => group.rules)) {
      const [path, anchor] = rule.annotations!.runbook_url!.split("#");
      expect(path, rule.alert).toBe("docs/operations.md");
      expect(headings, rule.alert).toContain(anchor);
    }
  });

  it("queries only series that /metrics serves after a round of traffic", () => {
    const served = new Set(metrics.split("\n").filter((line) => line !== "" && !line.startsWith("#")).map((line) => /^[\w:]+/.exec(line)![0]));
    const missing = queries.flatMap(({ where, expr }) => promqlReads(expr).selectors.filter(({ name }) => !served.has(name)).map(({ name }) => `${where}: ${name}`));
    expect(missing).toEqual([]);
    // Every part is read from somewhere.
    const read = new Set(queries.flatMap(({ expr }) => promqlReads(expr).selectors.map(({ name }) => name)));
    for (const name of ["rpc_server_call_duration_seconds_count", "db_client_operation_duration_seconds_count", "onetime_queue_oldest_age_seconds", "onetime_delivery_attempts_total", "onetime_send_refusals_total", "onetime_sms_budget_exhausted", "onetime_retention_last_success_timestamp_seconds"]) {
      expect(read).toContain(name);
    }
  });

  it("matches, groups and shows only labels those series carry", () => {
    const registry = server.server.app.metrics.registry;
    /** Labels a sample of this name can carry: its metric's, `le` on a histogram's buckets, and what Prometheus adds when it scrapes. */
    const labelsOf = (name: string): string[] => {
      const family = registry.getSingleMetric(name) ?? registry.getSingleMetric(name.replace(/_(bucket|sum|count)$/, ""));
      const declared = (family as { labelNames?: string[] } | undefined)?.labelNames ?? [];
      return [...declared, ...(name.endsWith("_bucket") ? ["le"] : []), "job", "instance"];
    };
    const wrong: string[] = [];
    for (const { where, expr, shows } of queries) {
      const { selectors, grouping } = promqlReads(expr);
      const carried = new Set(selectors.flatMap(({ name }) => labelsOf(name)));
      for (const { name, labels } of selectors) for (const label of labels) if (!labelsOf(name).includes(label)) wrong.push(`${where}: ${name} has no label ${label}`);
      for (const label of [...grouping, ...shows]) if (!carried.has(label)) wrong.push(`${where}: no series it reads has a label ${label}`);
      // What a legend or an annotation shows must survive the aggregation (all of them go without "by").
      const aggregated = grouping.length > 0 || /\b(?:sum|min|max|avg|count|stddev|stdvar|group)\s*\(/.test(expr);
      if (aggregated && !where.startsWith("variable")) for (const label of new Set(shows)) if (!grouping.includes(label)) wrong.push(`${where}: shows ${label}, which its aggregation drops`);
    }
    expect(wrong).toEqual([]);
  });

  it("reads the series and labels out of PromQL, not its functions, strings, ranges or variables", () => {
    expect(promqlReads('sum by (job, rule) (rate(onetime_send_refusals_total{country!="",job=~"$job"}[$__rate_interval] offset 10m)) > 0.05 unless on (job) x_total <= 5 * y')).toEqual({
      selectors: [
        { name: "onetime_send_refusals_total", labels: ["country", "job"] },
        { name: "x_total", labels: [] },
        { name: "y", labels: [] },
      ],
      grouping: ["job", "rule", "job"],
    });
    expect(promqlReads("time() - max(onetime_retention_last_success_timestamp_seconds) > 1800").selectors.map(({ name }) => name)).toEqual(["onetime_retention_last_success_timestamp_seconds"]);
  });

  it("provisions the dashboard and the rules from files the compose file mounts", () => {
    const compose = parseYaml(read("compose.yaml")) as { services: Record<string, { image: string; volumes: string[] }> };
    const mounts = new Map<string, string>();
    for (const service of Object.values(compose.services)) {
      expect(service.image).toMatch(/^[\w./-]+:v?\d+\.\d+\.\d+$/);
      for (const volume of service.volumes) {
        const [source = "", target = ""] = volume.split(":");
        expect(existsSync(join(deploy, source)), volume).toBe(true);
        mounts.set(target, source);
      }
    }
    const prometheus = parseYaml(read("prometheus/prometheus.yml")) as { rule_files: string[] };
    expect(prometheus.rule_files.map((file) => mounts.get(file))).toEqual(["./prometheus/alerts.yml"]);
    const providers = parseYaml(read("grafana/provisioning/dashboards/onetime.yml")) as { providers: { options: { path: string } }[] };
    expect(mounts.get(providers.providers[0]!.options.path)).toBe("./grafana/dashboards");
    expect(mounts.get("/etc/grafana/provisioning")).toBe("./grafana/provisioning");
  });
});
