/**
 * Ties store commands into one piece of work: a step, and the undo of it should a later step
 * fail. A store that can be slow bounds the commands of one piece of work together (Redis:
 * storage/workDeadline.ts), so that a store that is gone fails the undo as soon as the step
 * instead of making the caller wait for each in turn. A command given no work is bounded alone.
 *
 * Passed by hand, not carried in async context: on Node 20 an AsyncLocalStorage turns on
 * promise hooks for the whole process, which cost a bare call 8-10 % of its CPU (docs/performance.md).
 */
export class StoreWork {
  // Nominal: any object would do as a key, but only a StoreWork says what it is for.
  readonly #brand = undefined;
}
