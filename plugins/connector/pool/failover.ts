/**
 * Failover across a broker pool: try each host in turn (in order, or shuffled per cycle with
 * `randomize`), waiting the back-off delay between failed attempts, until one connects, the
 * attempts or the time budget run out, every host refused for good, or the caller aborts.
 * Transport-agnostic: the caller supplies `connect`.
 */
import { BrokerUnavailableError, ConnectionError, type ConnectFailureReason } from '../../../src/errors.js';
import { Backoff, type ReconnectPolicy } from './backoff.js';
import { REASON_TEXT, connectFailureReason, isPermanent, oneLine } from './failure.js';
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

  /** How many hosts the pool has. */
  get size(): number {
    return this.hosts.length;
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
  /**
   * Makes one attempt against `host`; must honour `signal` and settle within `timeoutMs` (the attempt timeout,
   * lowered to what is left of the deadline; undefined when neither is set).
   */
  connect(host: PoolHost, signal: AbortSignal, timeoutMs: number | undefined): Promise<T>;
  /** Told about every failed attempt and the delay before the next (undefined when giving up). */
  onAttemptFailed?(host: PoolHost, error: Error, attempt: number, nextDelayMs: number | undefined): void;
  /** Aborting stops the loop with a ConnectionError. */
  signal?: AbortSignal;
  /** The longest one attempt may take, in ms (the connector's connect_timeout). */
  attemptTimeoutMs?: number;
  /** Give up once this much time (ms) has passed: no attempt outlives it and the back-off never sleeps past it. */
  budgetMs?: number;
  /** Give up as soon as every host of the pool failed last for a reason retrying cannot fix (authentication, TLS). */
  stopOnPermanentFailure?: boolean;
  /** The kind of broker, for the give-up message ("could not connect to any rabbitmq broker"). */
  label?: string;
  /** How a host is named in the give-up message; `host:port` by default. */
  describeHost?(host: PoolHost): string;
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
 * BrokerUnavailableError (a ConnectionError whose code and message say why, cause: the last attempt's error) after
 * `policy.maxAttempts` failures, once `budgetMs` is spent, or when every host refused for good
 * (`stopOnPermanentFailure`); with ConnectionError on abort.
 */
export async function connectWithFailover<T>(options: FailoverOptions<T>): Promise<FailoverResult<T>> {
  const backoff = new Backoff(options.policy);
  const signal = options.signal ?? new AbortController().signal;
  const started = Date.now();
  const deadline = options.budgetMs === undefined ? Number.POSITIVE_INFINITY : started + options.budgetMs;
  const lastReasons = new Map<number, ConnectFailureReason>();
  const name = options.describeHost ?? describeHost;
  let lastError: Error | undefined;
  for (;;) {
    if (signal.aborted) throw new ConnectionError('connection attempts aborted (connector closed)', { cause: lastError });
    const host = options.rotation.next();
    const timeoutMs = Math.min(options.attemptTimeoutMs ?? Number.POSITIVE_INFINITY, deadline - Date.now());
    try {
      const connection = await options.connect(host, signal, Number.isFinite(timeoutMs) ? Math.max(1, timeoutMs) : undefined);
      return { connection, host, attempts: backoff.attempts + 1 };
    } catch (error) {
      lastError = error instanceof Error ? error : new Error(String(error));
      const reason = connectFailureReason(lastError);
      lastReasons.set(host.index, reason);
      let delay = signal.aborted ? undefined : backoff.next();
      let why = `after ${backoff.attempts} attempt(s)`;
      if (delay !== undefined && Date.now() + delay >= deadline) {
        delay = undefined;
        why = `within the connect budget of ${formatSeconds(options.budgetMs!)} (${backoff.attempts} attempt(s))`;
      } else if (delay !== undefined && options.stopOnPermanentFailure && options.rotation.size === lastReasons.size && [...lastReasons.values()].every(isPermanent)) {
        delay = undefined;
        why = `after ${backoff.attempts} attempt(s) (retrying cannot help)`;
      }
      options.onAttemptFailed?.(host, lastError, backoff.attempts, delay);
      if (signal.aborted) throw new ConnectionError('connection attempts aborted (connector closed)', { cause: lastError });
      if (delay === undefined) {
        throw new BrokerUnavailableError(
          `could not connect to any ${options.label ? `${options.label} ` : ''}broker ${why}; last: ${name(host)}: ${describeFailure(lastError, reason)}`,
          { reason, broker: name(host), attempts: backoff.attempts },
          { cause: lastError },
        );
      }
      await abortableSleep(delay, signal);
    }
  }
}

/** What a failed attempt's error says, on one line, led by its reason unless the text already names it. */
export function describeFailure(error: Error, reason: ConnectFailureReason = connectFailureReason(error)): string {
  const text = oneLine(error.message);
  return reason === 'other' || text.toLowerCase().includes(REASON_TEXT[reason].toLowerCase()) ? text : `${REASON_TEXT[reason]}: ${text}`;
}

function formatSeconds(ms: number): string {
  return `${Number((ms / 1000).toFixed(3))} s`;
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
