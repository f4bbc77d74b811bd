import { describe, expect, it } from "vitest";
import type { DescService } from "@bufbuild/protobuf";
import { AccountTokenService } from "../../gen/onetime/v1/account_token_service_pb.js";
import { TokenService } from "../../gen/onetime/v1/token_service_pb.js";
import { access, procedureName } from "../../src/auth/access.js";
import type { PrincipalKind } from "../../src/auth/principal.js";
import { rpcComments, labelled } from "../support/protoComments.js";
import { factorChangeReport, isTokenOperation, operations, TOKEN_OPERATIONS } from "../../src/domain/profileTokens/operations.js";

const kinds: readonly PrincipalKind[] = ["public", "user", "service", "admin"];
const sorted = (set: Iterable<PrincipalKind> | undefined): PrincipalKind[] => (set === undefined ? [] : [...new Set(set)].sort());

/**
 * The principals each RPC's proto comment names on its "Callers:" line, keyed by RPC name. A
 * principal named in a parenthesis ("service (and public when TOKEN_PUBLIC_REQUESTS=true…)")
 * counts: it reaches the RPC, and the domain decides the rest; "every other principal" names
 * them all.
 */
function callersInProto(file: string): Map<string, PrincipalKind[]> {
  const found = new Map<string, PrincipalKind[]>();
  for (const [rpc, comment] of rpcComments(file)) {
    const named = labelled(comment, "Callers:");
    if (named !== undefined) found.set(rpc, sorted(kinds.filter((kind) => named.includes("every other principal") || new RegExp(`\\b${kind}\\b`).test(named))));
  }
  return found;
}

describe("who may call each token operation: one source", () => {
  it("every Request…Token RPC is an operation's, and the access table lets in exactly that operation's callers", () => {
    const requestRpcs = TokenService.methods.map((method) => method.name).filter((name) => /^Request\w+Token$/.test(name));
    const operationsOfRpcs = requestRpcs.map((name) => name.slice("Request".length, -"Token".length).replace(/[A-Z]/g, (letter, at: number) => `${at === 0 ? "" : "_"}${letter.toLowerCase()}`));
    expect(operationsOfRpcs.filter((operation) => !isTokenOperation(operation))).toEqual([]);
    expect([...operationsOfRpcs].sort()).toEqual([...TOKEN_OPERATIONS].sort());
    requestRpcs.forEach((name, index) => {
      const operation = operationsOfRpcs[index];
      if (operation === undefined || !isTokenOperation(operation)) throw new Error(`no operation for ${name}`);
      expect({ rpc: name, callers: sorted(access.get(procedureName(TokenService, name))) }).toEqual({ rpc: name, callers: sorted(operations[operation].callers) });
    });
  });

  it("ConsumeToken lets in whoever may consume some operation's OTT or a report token, and nobody else", () => {
    const consumers = TOKEN_OPERATIONS.filter((operation) => operations[operation].provenBy === undefined).flatMap((operation) => operations[operation].callers);
    expect(sorted(access.get(procedureName(TokenService, "ConsumeToken")))).toEqual(sorted([...consumers, ...factorChangeReport.callers]));
  });

  const protoAgrees = (service: DescService, file: string) => () => {
    const inProto = callersInProto(file);
    const rpcs = service.methods.map((method) => method.name);
    expect(rpcs.filter((name) => !inProto.has(name))).toEqual([]);
    for (const name of rpcs) {
      expect({ rpc: name, callers: inProto.get(name) }).toEqual({ rpc: name, callers: sorted(access.get(procedureName(service, name))) });
    }
  };
  it("every TokenService RPC's proto comment names on its Callers line exactly the principals the access table lets in", protoAgrees(TokenService, "token_service.proto"));
  it("every AccountTokenService RPC's proto comment names on its Callers line exactly the principals the access table lets in", protoAgrees(AccountTokenService, "account_token_service.proto"));
});
