import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { FACTOR_CHANGE_REPORT, operations, TOKEN_OPERATIONS, type TokenOperation } from "../../../src/domain/profileTokens/operations.js";
import { labelled, rpcComments } from "../../support/protoComments.js";

const pascal = (operation: TokenOperation): string => operation.replace(/(?:^|_)([a-z])/g, (_match, letter: string) => letter.toUpperCase());
const source = (file: string): string => readFileSync(new URL(`../../../src/domain/profileTokens/${file}`, import.meta.url), "utf8");

/** The operation table is the whole of each operation's rules: the pipeline reads it and names no operation. */
describe("the operation table", () => {
  it("the pipeline (profileTokens.ts) decides nothing by an operation's name: every rule is in the operation's entry", () => {
    const pipeline = source("profileTokens.ts");
    const named = [...TOKEN_OPERATIONS, FACTOR_CHANGE_REPORT].filter((operation) => pipeline.includes(`"${operation}"`));
    expect(named).toEqual([]);
  });

  it("asserts nothing with `!`: an entry missing what its effect needs throws, like the others", () => {
    for (const file of ["operations.ts", "profileTokens.ts"]) {
      // `x!.`, `x!)`, `x!;`, `x!,`: a non-null assertion; `!==` and `!x` are not.
      const asserted = source(file)
        .split("\n")
        .filter((line) => /[\w)\]]!(?![=\w(!"'`])/.test(line.replace(/"[^"]*"|`[^`]*`|'[^']*'/g, '""')));
      expect({ file, asserted }).toEqual({ file, asserted: [] });
    }
  });

  it("two-step operations name each other: step 2 proves the step 1 that names it, and a step 1 is never consumed on its own", () => {
    for (const operation of TOKEN_OPERATIONS) {
      const { proves, provenBy, effect } = operations[operation];
      if (proves !== undefined) expect({ operation, stepOneProvenBy: operations[proves].provenBy }).toEqual({ operation, stepOneProvenBy: operation });
      if (provenBy !== undefined) {
        expect({ operation, stepTwoProves: operations[provenBy].proves }).toEqual({ operation, stepTwoProves: operation });
        // A step 1 has no effect: what it is for is applied when its step 2's OTT is consumed.
        expect({ operation, effect }).toEqual({ operation, effect: undefined });
      } else {
        expect({ operation, hasEffect: effect !== undefined }).toEqual({ operation, hasEffect: true });
      }
    }
  });

  it("each Request…Token RPC's proto comment says Switchable, and FACTOR_CHANGES_LOCKED among its errors, exactly when its operation's entry does", () => {
    const comments = rpcComments("token_service.proto");
    for (const operation of TOKEN_OPERATIONS) {
      const spec = operations[operation];
      const comment = comments.get(`Request${pascal(operation)}Token`) ?? [];
      // Step 2 is switched off with its step 1 (TOKEN_DISABLED_OPERATIONS names only the step 1).
      const switchable = spec.switchable || (spec.proves !== undefined && operations[spec.proves].switchable);
      expect({ operation, switchable: comment.some((line) => /\bSwitchable\b/.test(line)) }).toEqual({ operation, switchable });
      expect({ operation, locked: labelled(comment, "Errors:")?.includes("FACTOR_CHANGES_LOCKED") ?? false }).toEqual({ operation, locked: spec.factorChange !== undefined });
    }
  });

  it("ConsumeToken's proto comment lists as locked by a report exactly the operations the table marks as factor changes", () => {
    const comment = (rpcComments("token_service.proto").get("ConsumeToken") ?? []).join(" ");
    const listed = /factor changes are locked \(([^)]*)\)/.exec(comment)?.[1]?.match(/\b[A-Z][A-Z_]+[A-Z]\b/g) ?? [];
    const factorChanges = TOKEN_OPERATIONS.filter((operation) => operations[operation].factorChange !== undefined).map((operation) => operation.toUpperCase());
    expect(listed.filter((name) => name !== "FAILED_PRECONDITION" && name !== "FACTOR_CHANGES_LOCKED").sort()).toEqual(factorChanges.sort());
  });
});
