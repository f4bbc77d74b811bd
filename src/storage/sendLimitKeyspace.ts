/**
 * Names of the send limits' entries. Every name of one scope carries `{scope}` as its hash
 * tag, so Redis Cluster puts them in one slot and one script may touch them all; the kind comes
 * after the tag so names of different kinds never collide.
 */
export interface AdmissionKeys {
  /** Send window of one bucket: a hash {count, last}. */
  readonly send: string;
  /** Guess budget of the scope: a counter of reserved guesses. */
  readonly guess: string;
}

export function admissionKeys(scope: string, bucket: string): AdmissionKeys {
  return { send: `adm:{${scope}}:send:${bucket}`, guess: guessKey(scope) };
}

export function guessKey(scope: string): string {
  return `adm:{${scope}}:guess`;
}

/** Pending or completed idempotency key: a hash {fingerprint, answer}. */
export function idempotencyKey(scope: string, key: string): string {
  return `adm:{${scope}}:idem:${key}`;
}
