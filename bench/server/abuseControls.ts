/**
 * The abuse controls (docs/security.md "Abuse controls") as the bench runs them. Every server runs them on,
 * at limits no run reaches, so the standard set measures the work of every check and never a
 * refusal; the rules part (rules.ts) compares that with them turned off.
 *
 * The bench's SMS all go to +1 415 555 xxxx: valid US numbers (fixed_line_or_mobile) of one
 * prefix (+1 4155 with the default SMS_PREFIX_DIGITS), so every public-pool SMS is charged to one
 * prefix and one country, and the conversion guard judges that prefix once it has its minimum.
 */

/** Every rule on, at limits no run reaches; the highest values config accepts where it has a maximum. */
export const abuseControlsOn: Readonly<Record<string, string>> = {
  EMAIL_PER_MINUTE_LIMIT: "10000000",
  SMS_PER_MINUTE_LIMIT: "10000000",
  SMS_PREFIX_HOURLY_LIMIT: "1000000",
  SMS_COUNTRY_HOURLY_LIMIT: "10000000",
  // With prices the budgets are money: costs are computed and charged per country.
  SMS_PRICES: "US=0.0079,*=0.05",
  SMS_COUNTRY_HOURLY_BUDGET: "100000000",
  SMS_COUNTRY_DAILY_BUDGET: "100000000",
  // Judged once a run's first seconds have passed. Not sooner: a round consumes the code its slot
  // requested the round before, so the first 32 sends (one per client) have none used yet, and a
  // guard judging them would refuse every send after, and with no send no code is ever used again.
  SMS_CONVERSION_MIN_RATIO: "0.2",
  SMS_CONVERSION_PREFIX_MIN_SENDS: "500",
  SMS_CONVERSION_COUNTRY_MIN_SENDS: "1000",
};

/**
 * The abuse controls off as far as config allows. The destination policy still parses every
 * number (there is no switch for it); it refuses no type (`none`). The guess pools and the
 * ceiling on consecutive wrong guesses have no off either: both modes count them alike.
 */
export const abuseControlsOff: Readonly<Record<string, string>> = {
  EMAIL_PER_MINUTE_LIMIT: "0",
  SMS_PER_MINUTE_LIMIT: "0",
  SMS_PREFIX_HOURLY_LIMIT: "0",
  SMS_COUNTRY_HOURLY_LIMIT: "0",
  SMS_COUNTRY_HOURLY_BUDGET: "0",
  SMS_COUNTRY_DAILY_BUDGET: "0",
  // Empty is unset: budgets (none here) would count messages.
  SMS_PRICES: "",
  SMS_CONVERSION_MIN_RATIO: "0",
  SMS_DENIED_NUMBER_TYPES: "none",
};

/**
 * Per-destination guess budgets: the bench's numbers repeat after 10,000 rounds, and each code
 * reserves its guesses when issued, so the public pool's defaults (20 an hour, 50 a day) would
 * refuse a number's fifth registration within the hour. The checks run whatever the limit.
 */
export const guessBudgetsRaised: Readonly<Record<string, string>> = {
  VERIFICATION_GUESS_DAILY_LIMIT: "100000",
  PUBLIC_GUESS_LIMIT: "10000",
  PUBLIC_GUESS_DAILY_LIMIT: "100000",
};
