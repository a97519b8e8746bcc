/**
 * The daemon's lifecycle: requests in flight, changes (reload, stop) run one at a time so subscriptions are
 * never changed concurrently, and the soft shutdown that lets in-flight requests finish (bounded by
 * `soft_shutdown_timeout` when set) before aborting them.
 */
import type { Logger } from '../inter/logger.js';

/** In-flight work, serialized changes and the stop state of one daemon. */
export class Lifecycle {
  private readonly inflight = new Set<Promise<void>>();
  private readonly shutdownController = new AbortController();
  private lastChange: Promise<unknown> = Promise.resolve();
  private stopping: Promise<void> | undefined;

  constructor(private readonly logger: Logger) {}

  /** Aborted when the daemon gives up waiting for in-flight actions. */
  get shutdown(): AbortSignal {
    return this.shutdownController.signal;
  }

  /** Whether stop() was called (new requests are refused from then on). */
  get isStopping(): boolean {
    return this.stopping !== undefined;
  }

  /** Requests currently being processed. */
  get inFlight(): number {
    return this.inflight.size;
  }

  /** Tracks one request's processing until it settles. */
  track(work: Promise<void>): void {
    this.inflight.add(work);
    void work.finally(() => this.inflight.delete(work));
  }

  /** Runs `change` after every earlier change settled (reloads and the stop never overlap). */
  serially<T>(change: () => Promise<T>): Promise<T> {
    const next = this.lastChange.then(change, change);
    this.lastChange = next.catch(() => undefined);
    return next;
  }

  /**
   * Marks the daemon stopping at once (so new requests are refused while a reload finishes), then runs
   * `steps` after earlier changes. Later calls return the same promise.
   */
  stop(steps: () => Promise<void>): Promise<void> {
    this.stopping ??= this.serially(steps);
    return this.stopping;
  }

  /**
   * Waits for in-flight requests. With `timeoutSeconds`, running actions still going after it are aborted
   * (they reply status 1 "aborted: the daemon is shutting down") and waited for; without it, waits for all
   * (each is bounded by its agent's timeout anyway).
   */
  async drain(timeoutSeconds: number | undefined): Promise<void> {
    const pending = [...this.inflight];
    if (pending.length === 0) return;
    this.logger.info({ inflight: pending.length, timeout: timeoutSeconds }, 'waiting for in-flight requests');
    let timer: NodeJS.Timeout | undefined;
    const finished = await Promise.race([
      Promise.allSettled(pending).then(() => true),
      ...(timeoutSeconds === undefined ? [] : [new Promise<boolean>((resolve) => { timer = setTimeout(() => resolve(false), timeoutSeconds * 1000); })]),
    ]);
    clearTimeout(timer);
    if (finished) return;
    this.logger.warn({ inflight: this.inflight.size }, `in-flight requests still running after soft_shutdown_timeout (${timeoutSeconds}s); aborting them`);
    this.shutdownController.abort();
    await Promise.allSettled([...this.inflight]);
  }
}
