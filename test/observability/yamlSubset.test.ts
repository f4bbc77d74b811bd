import { describe, expect, it } from "vitest";
import { parseYamlSubset } from "../support/yamlSubset.js";

/** The reader the deploy/ tests use reads what YAML reads, and refuses what it would read otherwise. */
describe("the YAML subset reader", () => {
  it("reads mappings, sequences, quoted and block scalars as YAML does", () => {
    const text = [
      "# a comment",
      "groups:",
      "  - name: a   # trailing comment",
      "    rules:",
      "      - alert: A",
      "        expr: >-",
      "          sum by (job) (x)",
      "          > 0",
      "",
      "        text: |",
      "          line one",
      "          line two",
      "        quoted: \"{{ $labels.job }} \\\"q\\\"\"",
      "        single: 'it''s'",
      "list:",
      "- [\"127.0.0.1:9464\", b]",
      "- {}",
      "empty:",
    ].join("\n");
    expect(parseYamlSubset(text)).toEqual({
      groups: [{ name: "a", rules: [{ alert: "A", expr: "sum by (job) (x) > 0", text: "line one\nline two\n", quoted: '{{ $labels.job }} "q"', single: "it's" }] }],
      list: [["127.0.0.1:9464", "b"], {}],
      empty: null,
    });
  });

  it.each([
    ["an anchor", "a: &x 1"],
    ["a flow mapping", "a: {b: 1}"],
    ["a template YAML would read as a flow mapping", "summary: {{ $labels.job }} down"],
    ["a plain scalar holding \": \"", "a: b: c"],
    ["a duplicate key", "a: 1\na: 2"],
    ["indentation out of place", "a: 1\n   b: 2"],
  ])("refuses %s", (_, text) => {
    expect(() => parseYamlSubset(text)).toThrow(/YAML line \d+/);
  });
});
