/**
 * Failover across a broker pool: try each host in turn (in order, or shuffled per cycle with
 * `randomize`), waiting the back-off delay between failed attempts, until one connects, the
 * attempts run out, or the caller aborts. Transport-agnostic: the caller supplies `connect`.
 */
import { ConnectionError } from '../../../src/errors.js';
import { Backoff, type ReconnectPolicy } from './backoff.js';
import type { PoolHost } from './options.js';

/** Cycles through the pool; a new cycle reshuffles when `randomize` is set. */
export class HostRotation {
  private order: PoolHost[] = [];
  private position = 0;

  constructor(
    private readonly hosts: readonly PoolHost[],
    private readonly randomize: boolean,
    private readonly random: () => number = Math.random,
  ) {
    if (hosts.length === 0) throw new ConnectionError('the broker pool is empty (pool.size must be >= 1)');
  }

  /** The host to try next. */
  next(): PoolHost {
    if (this.position >= this.order.length) {
      this.order = [...this.hosts];
      if (this.randomize) {
        for (let i = this.order.length - 1; i > 0; i--) {
          const j = Math.floor(this.random() * (i + 1));
          [this.order[i], this.order[j]] = [this.order[j]!, this.order[i]!];
        }
      }
      this.position = 0;
    }
    return this.order[this.position++]!;
  }
}

/** A short printable name of a pool host: `host:port` (with `tls` when encrypted). */
export function describeHost(host: PoolHost): string {
  return `${host.host}:${host.port}${host.ssl ? ' (tls)' : ''}`;
}

/** What connectWithFailover needs. */
export interface FailoverOptions<T> {
  rotation: HostRotation;
  policy: ReconnectPolicy;
  /** Makes one attempt against `host`; must honour `signal` and settle in bounded time. */
  connect(host: PoolHost, signal: AbortSignal): Promise<T>;
  /** Told about every failed attempt and the delay before the next (undefined when giving up). */
  onAttemptFailed?(host: PoolHost, error: Error, attempt: number, nextDelayMs: number | undefined): void;
  /** Aborting stops the loop with a ConnectionError. */
  signal?: AbortSignal;
}

/** The connection that succeeded and where. */
export interface FailoverResult<T> {
  connection: T;
  host: PoolHost;
  /** Attempts made, including the successful one. */
  attempts: number;
}

/**
 * Connects to the first host that accepts, retrying with back-off across the pool. Rejects with
 * ConnectionError (cause: the last attempt's error) after `policy.maxAttempts` failures or on abort.
 */
export async function connectWithFailover<T>(options: FailoverOptions<T>): Promise<FailoverResult<T>> {
  const backoff = new Backoff(options.policy);
  const signal = options.signal ?? new AbortController().signal;
  let lastError: Error | undefined;
  for (;;) {
    if (signal.aborted) throw new ConnectionError('connection attempts aborted (connector closed)', { cause: lastError });
    const host = options.rotation.next();
    try {
      const connection = await options.connect(host, signal);
      return { connection, host, attempts: backoff.attempts + 1 };
    } catch (error) {
      lastError = error instanceof Error ? error : new Error(String(error));
      const delay = signal.aborted ? undefined : backoff.next();
      options.onAttemptFailed?.(host, lastError, backoff.attempts, delay);
      if (signal.aborted) throw new ConnectionError('connection attempts aborted (connector closed)', { cause: lastError });
      if (delay === undefined) {
        throw new ConnectionError(
          `could not connect to any broker after ${backoff.attempts} attempt(s); last: ${describeHost(host)}: ${lastError.message}`,
          { cause: lastError },
        );
      }
      await abortableSleep(delay, signal);
    }
  }
}

/** Resolves after `ms`, or early (without rejecting) when `signal` aborts. */
export function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
