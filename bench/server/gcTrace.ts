/**
 * V8's `--trace-gc` output of a server, read off its stdout next to pino's JSON lines: one line
 * per collection, e.g.
 *
 *   [20125:0xecf7dc0]    27287 ms: Scavenge 161.9 (248.3) -> 117.1 (248.3) MB, 12.36 / 1.35 ms  (average mu = ...) task;
 *   [20125:0xecf7dc0]    24649 ms: Mark-Compact 167.1 (292.2) -> 45.4 (248.3) MB, 23.04 / 7.63 ms  (+ 26.7 ms in 41 steps
 *     since start of marking, biggest step 24.1 ms, walltime since start of marking 80 ms) (average mu = ...) ...
 *
 * "12.36 / 1.35 ms" is the pause of the main thread, then the part of it spent in embedder
 * callbacks; "+ 26.7 ms in 41 steps" is the incremental marking done on the main thread (between
 * tasks, before that pause) since marking began.
 */

export type GcKind = "scavenge" | "mark-compact" | "other";

export interface GcEvent {
  readonly pid: number;
  /** V8's name, e.g. "Scavenge", "Mark-Compact", "Mark-Compact (reduce)". */
  readonly name: string;
  readonly kind: GcKind;
  /** When the pause ended, on the bench's performance.now() clock (see GcTrace). */
  readonly atMs: number;
  /** The main thread's pause. */
  readonly pauseMs: number;
  /** Incremental marking on the main thread before a mark-compact: its total and its biggest step. */
  readonly stepsMs?: number;
  readonly biggestStepMs?: number;
}

/** What a line says, on V8's clock (ms since its isolate started). */
export interface ParsedGcLine {
  readonly pid: number;
  readonly v8Ms: number;
  readonly name: string;
  readonly pauseMs: number;
  readonly stepsMs?: number;
  readonly biggestStepMs?: number;
}

/** Every line V8's tracing prints starts with `[pid:isolate]`; pino's lines start with `{`. */
const v8Prefix = /^\[\d+:0x[0-9a-f]+\]/;
const collection =
  /^\[(\d+):0x[0-9a-f]+\]\s+(\d+(?:\.\d+)?) ms: (.+?) [\d.]+ \([\d.]+\) -> [\d.]+ \([\d.]+\) MB, (?:pooled: [\d.]+ MB, )?(\d+(?:\.\d+)?) \/ \d+(?:\.\d+)? ms/;
const incremental = /\(\+ (\d+(?:\.\d+)?) ms in \d+ steps since start of marking, biggest step (\d+(?:\.\d+)?) ms/;

export function isV8TraceLine(line: string): boolean {
  return v8Prefix.test(line);
}

export function parseGcLine(line: string): ParsedGcLine | undefined {
  const match = collection.exec(line);
  if (match === null) return undefined;
  const steps = incremental.exec(line);
  return {
    pid: Number(match[1]),
    v8Ms: Number(match[2]),
    name: match[3]!,
    pauseMs: Number(match[4]),
    ...(steps === null ? {} : { stepsMs: Number(steps[1]), biggestStepMs: Number(steps[2]) }),
  };
}

export function gcKind(name: string): GcKind {
  if (name.startsWith("Scavenge")) return "scavenge";
  if (!name.startsWith("Minor") && /Mark-(Compact|Sweep)/.test(name)) return "mark-compact";
  return "other";
}

/**
 * The collections of one server's processes (a cluster's workers print to the same stdout, each
 * with its own pid). A line's time is its V8 timestamp moved onto the bench's clock by that
 * process's smallest gap yet between a line's arrival and its timestamp: the line read most
 * promptly. So a line the bench read late (its event loop busy with the load) is still placed
 * when V8 printed it, right after the pause.
 */
export class GcTrace {
  readonly #lines: ParsedGcLine[] = [];
  readonly #offsets = new Map<number, number>();
  #unparsed = 0;

  /** Takes a line of V8 tracing (true), recording it if it is a collection; false for any other line. */
  take(line: string, arrivedAtMs: number): boolean {
    if (!isV8TraceLine(line)) return false;
    const parsed = parseGcLine(line);
    if (parsed === undefined) {
      this.#unparsed++;
      return true;
    }
    this.#lines.push(parsed);
    const offset = arrivedAtMs - parsed.v8Ms;
    const known = this.#offsets.get(parsed.pid);
    if (known === undefined || offset < known) this.#offsets.set(parsed.pid, offset);
    return true;
  }

  /** Collections whose pause ended in [fromMs, toMs) on the bench's clock. */
  between(fromMs: number, toMs: number): GcEvent[] {
    const events: GcEvent[] = [];
    for (const line of this.#lines) {
      const atMs = line.v8Ms + this.#offsets.get(line.pid)!;
      if (atMs < fromMs || atMs >= toMs) continue;
      events.push({
        pid: line.pid,
        name: line.name,
        kind: gcKind(line.name),
        atMs,
        pauseMs: line.pauseMs,
        ...(line.stepsMs === undefined ? {} : { stepsMs: line.stepsMs, biggestStepMs: line.biggestStepMs! }),
      });
    }
    return events;
  }

  /** Lines with V8's prefix that were not a collection (none expected with --trace-gc alone). */
  get unparsed(): number {
    return this.#unparsed;
  }
}
