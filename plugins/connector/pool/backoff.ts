/**
 * Reconnect back-off: the delay before each connection attempt, in MCollective's terms
 * (`initial_reconnect_delay`, `max_reconnect_delay`, `use_exponential_back_off`,
 * `back_off_multiplier`, `max_reconnect_attempts`). Shared by every connector.
 */
import { InvalidArgumentError } from '../../../src/errors.js';

/** How long to wait between connection attempts, and how many attempts to make. */
export interface ReconnectPolicy {
  /** Delay before the first retry, in milliseconds. */
  initialDelayMs: number;
  /** Upper bound of any delay, in milliseconds. */
  maxDelayMs: number;
  /** Multiply the delay by `multiplier` after every failed attempt; otherwise keep it constant. */
  exponential: boolean;
  /** Growth factor of the delay (>= 1). */
  multiplier: number;
  /** Give up after this many failed attempts in a row; 0 retries forever. */
  maxAttempts: number;
}

/** The MCollective defaults: 10 ms doubling up to 30 s, forever. */
export const DEFAULT_RECONNECT_POLICY: Readonly<ReconnectPolicy> = Object.freeze({
  initialDelayMs: 10,
  maxDelayMs: 30_000,
  exponential: true,
  multiplier: 2,
  maxAttempts: 0,
});

/** Every problem of a policy at once (empty when usable). */
export function validateReconnectPolicy(policy: ReconnectPolicy): string[] {
  const problems: string[] = [];
  const nonNegative = (name: string, value: number): void => {
    if (!Number.isFinite(value) || value < 0) problems.push(`${name} must be a finite number of seconds >= 0, got ${value / 1000}`);
  };
  nonNegative('initial_reconnect_delay', policy.initialDelayMs);
  nonNegative('max_reconnect_delay', policy.maxDelayMs);
  if (Number.isFinite(policy.initialDelayMs) && Number.isFinite(policy.maxDelayMs) && policy.maxDelayMs < policy.initialDelayMs) {
    problems.push(`max_reconnect_delay (${policy.maxDelayMs / 1000} s) must be >= initial_reconnect_delay (${policy.initialDelayMs / 1000} s)`);
  }
  if (!Number.isFinite(policy.multiplier) || policy.multiplier < 1) {
    problems.push(`back_off_multiplier must be a finite number >= 1, got ${policy.multiplier}`);
  }
  if (!Number.isInteger(policy.maxAttempts) || policy.maxAttempts < 0) {
    problems.push(`max_reconnect_attempts must be an integer >= 0 (0 = forever), got ${policy.maxAttempts}`);
  }
  return problems;
}

/**
 * A back-off sequence for one run of failed attempts. `next()` returns the delay to wait before
 * the next attempt, or `undefined` once `maxAttempts` failures have been counted; `reset()` after
 * a successful connection starts again from the initial delay.
 */
export class Backoff {
  private failures = 0;
  private delayMs: number;

  constructor(private readonly policy: ReconnectPolicy) {
    const problems = validateReconnectPolicy(policy);
    if (problems.length > 0) throw new InvalidArgumentError(`policy: ${problems.join('; ')}`);
    this.delayMs = policy.initialDelayMs;
  }

  /** Failed attempts counted since the last reset. */
  get attempts(): number {
    return this.failures;
  }

  /** Records a failed attempt; returns the delay before the next one, or undefined when out of attempts. */
  next(): number | undefined {
    this.failures += 1;
    if (this.policy.maxAttempts > 0 && this.failures >= this.policy.maxAttempts) return undefined;
    const delay = Math.min(this.delayMs, this.policy.maxDelayMs);
    if (this.policy.exponential) this.delayMs = Math.min(this.delayMs * this.policy.multiplier, this.policy.maxDelayMs);
    return delay;
  }

  /** Starts a new sequence (after a successful connection). */
  reset(): void {
    this.failures = 0;
    this.delayMs = this.policy.initialDelayMs;
  }
}
