import type { SendDecision, SendRefund, SendRequest } from "../../domain/secrets/sendLimits.js";
import type { StoreWork } from "../../domain/storeWork.js";
import { isEmpty, type TrafficChecks, type TrafficPlan } from "../trafficPlan.js";
import { decodeAdmissionResult, decodeInteger, decodeTrafficResult } from "./redisReplies.js";
import { destinationCall, joinCalls, refundCall, trafficCall, type ScriptCall } from "./sendLimitCalls.js";

/*
 * Admit and refund on Redis Cluster, where one script cannot span the three slots an admit with
 * traffic touches: the destination's `{scope}`, the area's `{channel:country}` and the channel's
 * `{channel}`. On a single Redis none of this runs: admit and refund are one script each.
 *
 * An admit runs one script per slot, each atomic in its slot and one round trip: the destination
 * (idempotency, send window, guesses), then the area, then the channel; up to 3 round trips. Each
 * step checks and charges; when a later step refuses, the earlier steps' charges are given back
 * (one round trip per slot, in parallel), so the rule that a refusal charges nothing holds once
 * admit answers. Meanwhile (a few milliseconds) the charges are visible: a concurrent send may be
 * refused that would have passed, never the other way round.
 *
 * What a crash (or a lost connection) between steps leaves: the earlier steps' charges, and the
 * pending idempotency mark, which a retry then sees as in_progress. Every one of them expires
 * with its window (the mark with its lease), so nothing is lost for good, and the error is on the
 * side of refusing. On an error from a later step, the earlier ones are undone as far as Redis
 * still answers; the failing step itself is left alone, since it may or may not have run.
 *
 * An undo is part of the admit's work, and so shares its Redis deadline (workDeadline.ts) with
 * the step that failed: what it could not give back by then is reported (`reportLeft`, once per
 * admit) and left to expire.
 *
 * The undo of the destination is its refund (sendLimits.ts): should another send to the same
 * bucket have been admitted in between, that send's charge stands and ours stays too, as refund
 * documents; the guesses and the idempotency mark come back regardless.
 */

/** The send limits' scripts, each run on one slot's keys within the work's deadline. */
export interface SlotScripts {
  readonly admit: (call: ScriptCall, work: StoreWork | undefined) => Promise<unknown>;
  readonly admitTraffic: (call: ScriptCall, work: StoreWork | undefined) => Promise<unknown>;
  readonly refund: (call: ScriptCall, work: StoreWork | undefined) => Promise<unknown>;
  readonly refundTraffic: (call: ScriptCall, work: StoreWork | undefined) => Promise<unknown>;
}

const noTraffic = trafficCall("", { counters: [], conversions: [] });

/** What an admit charged and could not give back, by name ("destination", "area", "channel"). */
export type ReportLeft = (left: readonly string[]) => void;

interface UndoStep {
  readonly name: string;
  readonly run: () => Promise<unknown>;
}

/** Runs every undo step, in parallel, and reports those that failed. */
async function undoAll(undo: readonly UndoStep[], reportLeft: ReportLeft): Promise<void> {
  const outcomes = await Promise.allSettled(undo.map((step) => step.run()));
  const left = undo.filter((_, index) => outcomes[index]!.status === "rejected").map((step) => step.name);
  if (left.length > 0) reportLeft(left);
}

export async function admitSlotBySlot(
  scripts: SlotScripts,
  keyPrefix: string,
  request: SendRequest,
  plan: TrafficPlan,
  reportLeft: ReportLeft,
  work: StoreWork,
): Promise<SendDecision> {
  const admitted = decodeAdmissionResult(await scripts.admit(joinCalls(destinationCall(keyPrefix, request), noTraffic), work));
  if (admitted.status !== "admitted" || request.traffic === undefined) return admitted;

  const charged = { guesses: admitted.reservedGuesses, sendNumber: admitted.sendNumber };
  const destinationUndo = refundCall(keyPrefix, request.scope, request.bucket, charged, request.idempotency);
  const undo: UndoStep[] = [{ name: "destination", run: () => scripts.refund(joinCalls(destinationUndo, noTraffic), work) }];
  // The area before the channel: its counters are spread over countries, the channel's is one
  // key every send of the channel goes through, so it is charged (and maybe undone) last. So when
  // both would refuse, Cluster names the area's rule where a single Redis names channel_rate; the
  // decision is the same.
  for (const [name, checks] of [["area", plan.area], ["channel", plan.channel]] as const) {
    if (isEmpty(checks)) continue;
    const call = trafficCall(keyPrefix, checks);
    let refusal: Awaited<ReturnType<typeof decodeTrafficResult>>;
    try {
      refusal = decodeTrafficResult(await scripts.admitTraffic(call, work));
    } catch (error) {
      await undoAll(undo, reportLeft);
      throw error;
    }
    if (refusal !== undefined) {
      // The refusal stands whether or not the undo ran: what it could not give back expires.
      await undoAll(undo, reportLeft);
      return refusal;
    }
    undo.push({ name, run: () => scripts.refundTraffic(call, work) });
  }
  return admitted;
}

/** One refund script per slot, in parallel: the destination's, the area's, the channel's. */
export async function refundSlotBySlot(
  scripts: SlotScripts,
  keyPrefix: string,
  destination: { readonly scope: string; readonly bucket: string; readonly refund: SendRefund },
  plan: TrafficPlan,
  work: StoreWork | undefined,
): Promise<void> {
  const { scope, bucket, refund } = destination;
  const traffic = [plan.area, plan.channel].filter((checks: TrafficChecks) => !isEmpty(checks));
  const replies = await Promise.all([
    scripts.refund(joinCalls(refundCall(keyPrefix, scope, bucket, refund), noTraffic), work),
    ...traffic.map((checks) => scripts.refundTraffic(trafficCall(keyPrefix, checks), work)),
  ]);
  for (const reply of replies) decodeInteger("refund", reply);
}
