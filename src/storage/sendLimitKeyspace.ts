/**
 * Names of the send limits' entries. Every name of one scope carries `{scope}` as its hash
 * tag, so Redis Cluster puts them in one slot and one script may touch them all; the kind comes
 * after the tag so names of different kinds never collide.
 */
export interface AdmissionKeys {
  /** Send window of one bucket: a hash {count, last, prev}. */
  readonly send: string;
  /** Guess budget of the scope: a counter of reserved guesses. */
  readonly guess: string;
  /** The budget's long window (GuessBudget.long): the same reservations, counted over longer. */
  readonly guessLong: string;
  /** The scope's run of consecutive wrong guesses (GuessBudget.streak): a counter. */
  readonly streak: string;
}

export function admissionKeys(scope: string, bucket: string): AdmissionKeys {
  return { send: `adm:{${scope}}:send:${bucket}`, guess: `adm:{${scope}}:guess`, guessLong: `adm:{${scope}}:guess:long`, streak: streakKey(scope) };
}

export function streakKey(scope: string): string {
  return `adm:{${scope}}:streak`;
}

/** Pending or completed idempotency key: a hash {fingerprint, answer}. */
export function idempotencyKey(scope: string, key: string): string {
  return `adm:{${scope}}:idem:${key}`;
}

/*
 * Traffic counters count every destination of a channel or an area together, so they must not
 * carry the destination's `{scope}`: the channel's counter is tagged by the channel, an area's
 * counters by channel and country. On Cluster that is three slots per admit (scope, area,
 * channel), each of which one script can touch whole; the channel holds no ':' (sendLimitArguments.ts),
 * so `{channel:country}` names one area only.
 */

/*
 * A pool's counters are its own (TrafficRequest.pool): named after the tag, so they share their
 * slot with the other pools' and a script touches them the same way.
 */
function pooled(pool: string | undefined): string {
  return pool === undefined ? "" : `${pool}:`;
}

/** Sends through a channel in its window, every destination together: a counter. */
export function channelTrafficKey(channel: string, pool?: string): string {
  return `traffic:{${channel}}:${pooled(pool)}global`;
}

export interface AreaTrafficKeys {
  /** Sends to the number prefix in its window: a counter. */
  readonly prefix: string;
  /** Sends to the country in its window: a counter. */
  readonly country: string;
  /** Spend in the country, per hour and per day: counters of cost units. */
  readonly spendHour: string;
  readonly spendDay: string;
  /** Sends and validated codes of the prefix, and of the country, in the conversion window: hashes {sends, validated}. */
  readonly conversionPrefix: string;
  readonly conversionCountry: string;
}

export function areaTrafficKeys(channel: string, country: string, prefix: string, pool?: string): AreaTrafficKeys {
  const tag = `traffic:{${channel}:${country}}`;
  const area = pool === undefined ? tag : `${tag}:${pool}`;
  return {
    prefix: `${area}:prefix:${prefix}`,
    country: `${area}:country`,
    spendHour: `${area}:spend:hour`,
    spendDay: `${area}:spend:day`,
    conversionPrefix: `${area}:conv:prefix:${prefix}`,
    conversionCountry: `${area}:conv:country`,
  };
}
