import type { DeliveryOutcome } from "../channel.js";

/**
 * One send's time budget: the caller's signal and our own timeout, merged into one signal that
 * covers every step (access token, request, retry), so a retry cannot double the wait.
 */
export interface Deadline {
  readonly signal: AbortSignal;
  /** Milliseconds left, never negative. */
  remainingMs(): number;
  /** Why the signal fired, as an outcome; undefined while it has not. */
  expired(): Extract<DeliveryOutcome, { status: "failed" }> | undefined;
  /** Stops the timer and detaches from the caller's signal. */
  release(): void;
}

function startDeadline(caller: AbortSignal, timeoutMs: number): Deadline {
  const controller = new AbortController();
  const endsAt = performance.now() + timeoutMs;
  let cause: "timeout" | "caller" | undefined;
  const stop = (why: "timeout" | "caller") => {
    if (cause !== undefined) return;
    cause = why;
    controller.abort(new Error(why === "timeout" ? `timed out after ${timeoutMs} ms` : "aborted by the caller"));
  };
  const onCallerAbort = () => stop("caller");
  const timer = setTimeout(() => stop("timeout"), timeoutMs);
  if (caller.aborted) stop("caller");
  else caller.addEventListener("abort", onCallerAbort, { once: true });

  return {
    signal: controller.signal,
    remainingMs: () => Math.max(0, endsAt - performance.now()),
    expired() {
      if (cause === undefined) return undefined;
      return { status: "failed", reason: cause === "timeout" ? `timed out after ${timeoutMs} ms` : "aborted by the caller" };
    },
    release() {
      clearTimeout(timer);
      caller.removeEventListener("abort", onCallerAbort);
    },
  };
}

/**
 * Runs one send within its deadline: a send the deadline cut short, whether it returned or threw,
 * is reported as the deadline's outcome, and the deadline is released however the send ends.
 */
export async function withinDeadline(
  caller: AbortSignal,
  timeoutMs: number,
  send: (deadline: Deadline) => Promise<DeliveryOutcome>,
): Promise<DeliveryOutcome> {
  const deadline = startDeadline(caller, timeoutMs);
  try {
    return await send(deadline);
  } catch (error) {
    const expired = deadline.expired();
    if (expired !== undefined) return expired;
    throw error;
  } finally {
    deadline.release();
  }
}

/**
 * Waits for a promise other callers share (a token fetch), giving up when this caller's signal
 * fires without cancelling the shared work.
 */
export function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason as Error);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}
