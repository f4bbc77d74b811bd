import type { Round } from "../loadGenerator.js";
import type { Backend } from "../server/backends.js";
import type { ClientPool, Protocol } from "../clients/types.js";
import type { TotpConsumers } from "./totpConsumers.js";

export type ScenarioName =
  | "bare"
  | "verification-roundtrip"
  | "wrong-code-mix"
  | "validate-only"
  | "totp-validate"
  | "token-request-consume"
  | "account-creation"
  | "auth-token";

export const allScenarioNames: readonly ScenarioName[] = [
  "bare",
  "verification-roundtrip",
  "wrong-code-mix",
  "validate-only",
  "totp-validate",
  "token-request-consume",
  "account-creation",
  "auth-token",
];

/** What a scenario is given to get ready for one run. */
export interface ScenarioContext {
  readonly pool: ClientPool;
  /** "none": the raw connect-node server (bare only). */
  readonly backend: Backend | "none";
  readonly protocol: Protocol;
  /** Warm-up plus measured time of the run about to start. */
  readonly plannedSeconds: number;
  /** Round trips per second a similar scenario reached on this server (sizes TOTP pools). */
  readonly expectedRoundsPerSecond: number | undefined;
  /** The TOTP consumers enrolled on this server so far (one per server, shared by protocols). */
  readonly totpConsumers: TotpConsumers;
}

export interface PreparedScenario {
  readonly round: Round;
  /** Facts about the preparation (e.g. consumers enrolled), kept in the results. */
  readonly notes: Record<string, number | string>;
  /** Facts known only after the run (e.g. consumer pool stalls). */
  after?(): Record<string, number | string>;
}

export interface Scenario {
  readonly name: ScenarioName;
  /** RPCs in one round: req/s = rounds/s x this. */
  readonly rpcsPerRound: number;
  readonly summary: string;
  prepare(context: ScenarioContext): Promise<PreparedScenario>;
}

/** Distinct consumers, so no per-consumer limit or budget is ever what is measured. */
let consumerCounter = 0;
export function nextEmailConsumer(): string {
  consumerCounter++;
  return `b${consumerCounter}@bench.example`;
}
