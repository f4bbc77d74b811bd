/**
 * Failures the domain reports, independent of any transport. The RPC layer maps each kind to a
 * Connect code in one place (rpc/errorBoundary.ts); nothing below the RPC layer imports Connect.
 */
export type DomainErrorKind =
  | "invalid_argument"
  | "not_found"
  | "already_exists"
  | "permission_denied"
  | "failed_precondition"
  | "resource_exhausted"
  | "unavailable"
  | "unauthenticated"
  | "aborted"
  | "deadline_exceeded";

/** One rule one field broke; `field` is the request path in proto names, e.g. `policy.ttl`. */
export interface FieldViolation {
  readonly field: string;
  readonly rule: string;
  readonly message: string;
}

export abstract class DomainError extends Error {
  /**
   * Whether it captures a stack trace. Refusals do not (see withoutStack.ts): the request log
   * names their reason, and a refusal's stack points at a rule, never at a fault. A failure of
   * the server's side (a store unreachable) sets this.
   */
  protected static readonly tracesStack: boolean = false;

  constructor(message?: string, options?: ErrorOptions) {
    const limit = Error.stackTraceLimit;
    if (!(new.target as unknown as typeof DomainError).tracesStack) Error.stackTraceLimit = 0;
    try {
      super(message, options);
    } finally {
      Error.stackTraceLimit = limit;
    }
  }

  abstract readonly kind: DomainErrorKind;
  /** A stable machine-readable reason clients may branch on, e.g. `CODE_EXPIRED`. */
  abstract readonly reason: string;
  /** Facts the caller may act on (`attempts_left`, `retry_after_seconds`); never a secret. */
  readonly metadata?: Readonly<Record<string, string>>;
}

/** Whole seconds to wait, at least 1: what `retry_after_seconds` and refusal messages say. */
export function retryAfterSeconds(retryAfterMs: number): number {
  return Math.max(1, Math.ceil(retryAfterMs / 1000));
}

export class InvalidArgument extends DomainError {
  readonly kind = "invalid_argument";
  readonly reason: string = "INVALID_ARGUMENT";
  constructor(readonly violations: readonly FieldViolation[]) {
    super(violations.map((violation) => `${violation.field}: ${violation.message}`).join("; "));
    this.name = "InvalidArgument";
  }

  static field(field: string, rule: string, message: string): InvalidArgument {
    return new InvalidArgument([{ field, rule, message }]);
  }
}

export class Unauthenticated extends DomainError {
  readonly kind = "unauthenticated";
  constructor(readonly reason: string, message: string) {
    super(message);
    this.name = "Unauthenticated";
  }
}

export class PermissionDenied extends DomainError {
  readonly kind = "permission_denied";
  constructor(readonly reason: string, message: string) {
    super(message);
    this.name = "PermissionDenied";
  }
}

/**
 * A backing store (Postgres, Redis) or a channel could not be reached. onetime fails closed: the
 * caller gets `unavailable`, never a success that was not stored.
 */
export class DependencyUnavailable extends DomainError {
  protected static override readonly tracesStack = true;
  readonly kind = "unavailable";
  readonly reason = "DEPENDENCY_UNAVAILABLE";
  constructor(readonly dependency: string, options?: { cause?: unknown }) {
    super(`${dependency} is unavailable`, options);
    this.name = "DependencyUnavailable";
  }
}

export class ShuttingDown extends DomainError {
  readonly kind = "unavailable";
  readonly reason = "SHUTTING_DOWN";
  constructor() {
    super("server is shutting down; retry on another instance");
    this.name = "ShuttingDown";
  }
}

/** A limit on what one process or one connection holds open; the message names its setting. */
export class CapacityLimitReached extends DomainError {
  readonly kind = "resource_exhausted";
  constructor(readonly reason: "CONNECTION_LIMIT_REACHED" | "STREAM_LIMIT_REACHED", message: string) {
    super(message);
    this.name = "CapacityLimitReached";
  }
}

/**
 * A server-streaming call open as long as MAX_WATCH_STREAM_MS allows. `unavailable`, the status
 * gRPC clients retry, so a watcher calls again, and the connection under a quiet stream can go idle.
 */
export class StreamLifetimeReached extends DomainError {
  readonly kind = "unavailable";
  readonly reason = "STREAM_LIFETIME_REACHED";
  constructor(lifetimeMs: number) {
    super(`this stream has been open ${Math.round(lifetimeMs / 1000)} s, as long as MAX_WATCH_STREAM_MS allows: call again to go on watching`);
    this.name = "StreamLifetimeReached";
  }
}
