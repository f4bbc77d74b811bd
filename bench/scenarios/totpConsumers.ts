import { generate } from "otplib";
import { VerificationMethod } from "../../gen/onetime/v1/verification_service_pb.js";
import type { ClientPool } from "../clients/types.js";

const periodSeconds = 30;

export function currentTimeStep(nowMs = Date.now()): number {
  return Math.floor(nowMs / 1000 / periodSeconds);
}

/** The 6-digit code of a time step, as the user's authenticator app would show it. */
export function totpCode(secret: string, step: number): Promise<string> {
  return generate({ secret, epoch: step * periodSeconds });
}

interface Enrolled {
  readonly consumer: string;
  readonly secret: string;
  /** The newest time step the server has accepted (or is about to accept) for this consumer. */
  lastUsedStep: number;
}

export interface TakenConsumer {
  readonly consumer: string;
  readonly secret: string;
  readonly step: number;
}

let totpCounter = 0;

/**
 * Consumers with an active TOTP secret the bench knows. The server accepts the steps now-1, now
 * and now+1, each at most once per consumer and only after the last one used, so a consumer gives
 * one code per 30 s step (two right after enrolment): rounds rotate through enough of them.
 * One instance per server, shared by the protocols that run against it.
 */
export class TotpConsumers {
  readonly #enrolled: Enrolled[] = [];
  #cursor = 0;

  get size(): number {
    return this.#enrolled.length;
  }

  /** Consumers that can give at least one code right now. */
  availableNow(): number {
    const newest = currentTimeStep() + 1;
    return this.#enrolled.filter((entry) => entry.lastUsedStep < newest).length;
  }

  /**
   * Enrols `count` new consumers as a user would: InitiateVerification TOTP returns the otpauth
   * URI, whose secret gives the current code, and validating it activates the secret.
   */
  async enrol(pool: ClientPool, count: number, concurrency: number): Promise<void> {
    let remaining = count;
    const loop = async (slot: number) => {
      const client = pool.clients[slot % pool.clients.length]!;
      while (remaining > 0) {
        remaining--;
        totpCounter++;
        const consumer = `t${totpCounter}@bench.example`;
        const started = await client.initiate({ method: VerificationMethod.TOTP, consumer, issuer: "bench" });
        const secret = started.totpUri === "" ? null : new URL(started.totpUri).searchParams.get("secret");
        const verificationId = started.verification?.verificationId;
        if (secret === null || verificationId === undefined) throw new Error(`TOTP enrolment of ${consumer} returned no URI`);
        const step = currentTimeStep();
        await client.validate({ verificationId, code: await totpCode(secret, step) });
        this.#enrolled.push({ consumer, secret, lastUsedStep: step });
      }
    };
    await Promise.all(Array.from({ length: concurrency }, (_, slot) => loop(slot)));
  }

  /** The next consumer that can give a code now, with the step to use (and marks it used). */
  take(): TakenConsumer | undefined {
    const newest = currentTimeStep() + 1;
    for (let looked = 0; looked < this.#enrolled.length; looked++) {
      const entry = this.#enrolled[this.#cursor]!;
      this.#cursor = (this.#cursor + 1) % this.#enrolled.length;
      if (entry.lastUsedStep >= newest) continue;
      // The oldest acceptable step that is newer than the last used one.
      entry.lastUsedStep = Math.max(entry.lastUsedStep + 1, newest - 1);
      return { consumer: entry.consumer, secret: entry.secret, step: entry.lastUsedStep };
    }
    return undefined;
  }
}
