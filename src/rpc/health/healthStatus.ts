import { EventEmitter, on } from "node:events";

export type ServingStatus = "serving" | "not_serving";

/**
 * The serving status of the server ("") and of each service, as the health service reports it.
 * Everything starts NOT_SERVING: the server only says SERVING once storage is ready, and says
 * NOT_SERVING again as soon as it starts draining.
 */
export class HealthStatus {
  private readonly statuses = new Map<string, ServingStatus>();
  private readonly changes = new EventEmitter();

  constructor(serviceNames: readonly string[]) {
    for (const name of ["", ...serviceNames]) this.statuses.set(name, "not_serving");
    // Every Watch stream listens; the default cap of 10 would warn under normal load.
    this.changes.setMaxListeners(0);
  }

  /** undefined for a service this server does not know. */
  get(service: string): ServingStatus | undefined {
    return this.statuses.get(service);
  }

  entries(): IterableIterator<[string, ServingStatus]> {
    return this.statuses.entries();
  }

  setAll(status: ServingStatus): void {
    for (const name of this.statuses.keys()) this.statuses.set(name, status);
    this.changes.emit("change");
  }

  /**
   * The current status, then each change, until the caller goes away or the call ends (draining
   * ends every stream: see CallGate). Repeats of the same status are not sent again.
   */
  async *watch(service: string, signal: AbortSignal): AsyncGenerator<ServingStatus | undefined> {
    // Subscribe before reading the current status, so a change in between is not lost.
    const changes = on(this.changes, "change", { signal });
    let last = this.get(service);
    yield last;
    try {
      for await (const _ of changes) {
        const current = this.get(service);
        if (current !== last) {
          last = current;
          yield current;
        }
      }
    } catch (error) {
      if (signal.aborted) return;
      throw error;
    }
  }
}
