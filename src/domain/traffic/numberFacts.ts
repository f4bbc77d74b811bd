/**
 * What the traffic rules need to know of a phone number, told apart by the SMS adapter (which
 * knows the numbering plans): the rules themselves never parse a number.
 */
export const NUMBER_TYPES = [
  "mobile",
  "fixed_line",
  "fixed_line_or_mobile",
  "toll_free",
  "premium_rate",
  "shared_cost",
  "voip",
  "personal_number",
  "pager",
  "uan",
  "voicemail",
  /** Satellite and other non-geographic networks (+870, +881, +882, +883, +979…), whatever their kind. */
  "international_network",
  /** A valid number whose plan does not say what it is. */
  "unknown",
] as const;

export type NumberType = (typeof NUMBER_TYPES)[number];

export interface NumberFacts {
  /** ISO 3166-1 alpha-2 code; "international" for non-geographic networks. */
  readonly country: string;
  readonly type: NumberType;
  /** Country calling code, digits only: "44". */
  readonly callingCode: string;
  /** The digits after the calling code. */
  readonly nationalNumber: string;
}

/** Tells the facts of a number in E.164 form (checked before it gets here). */
export type DescribeNumber = (e164: string) => NumberFacts;

export function isNumberType(value: string): value is NumberType {
  return (NUMBER_TYPES as readonly string[]).includes(value);
}
