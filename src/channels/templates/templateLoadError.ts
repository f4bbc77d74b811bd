/**
 * A template that cannot be used: bad mustache, an unknown variable, an unknown kind or part, a
 * file in the wrong place. Raised while templates load, at start, never while a message renders.
 */
export class TemplateLoadError extends Error {
  constructor(
    /** The file (or built-in template) at fault, as the operator would look for it. */
    readonly source: string,
    /** What is wrong with it, without the source. */
    readonly problem: string,
  ) {
    super(`${source}: ${problem}`);
    this.name = "TemplateLoadError";
  }
}
