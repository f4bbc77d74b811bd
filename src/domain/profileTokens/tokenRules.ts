import type { ClientLimit } from "../clientLimits.js";
import type { CodeSpec } from "../secrets/codeGenerator.js";
import type { GuessPool } from "../secrets/oneTimeSecrets.js";
import type { GuessBudget, SendLimit } from "../secrets/sendLimits.js";
import type { TokenOperation } from "./operations.js";

/** The server's rules for profile OTTs (from config: the TOKEN_* variables). */
export interface TokenRules {
  /** How long each operation's OTT works; default 10 minutes, at most OUT_OF_BAND_CODE_MAX_TTL_SECONDS. */
  readonly ttlMs: Readonly<Record<TokenOperation, number>>;
  /** Switchable operations turned off; their requests answer OPERATION_DISABLED. */
  readonly disabled: ReadonlySet<TokenOperation>;
  /** Answers show destinations masked (j***@example.com); false shows them in full. */
  readonly maskDestinations: boolean;
  /** Wrong tokens allowed per OTT; default 5. */
  readonly maxAttempts: number;
  /** Sends per destination and operation, with growing waits between resends. */
  readonly sends: SendLimit;
  /**
   * Guesses per destination in each pool (see GuessPool): the account pool's is shared with
   * verifications; the public pool's is the only one anonymous callers can spend.
   */
  readonly guesses: Readonly<Record<GuessPool, Omit<GuessBudget, "reserve">>>;
  /** OTT shape per channel. */
  readonly codes: { readonly email: CodeSpec; readonly sms: CodeSpec };
  /** Registration and password recovery may be requested (and consumed) without credentials. */
  readonly publicRequests: boolean;
  /** Public requests must carry a CAPTCHA answer the provider accepts; services are never asked. */
  readonly publicCaptcha: boolean;
  /**
   * OTT requests one client address may make per window, public callers and users alike: the
   * send limits are per destination, and would let one address have us message many.
   */
  readonly client: ClientLimit;
  /** How long a "this wasn't me" report token a factor change sends works; default 7 days. */
  readonly factorReportTtlMs: number;
}
