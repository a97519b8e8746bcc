/**
 * A readiness gate for publishes: while the connector is (re)connecting, publishers wait on the
 * gate for at most `publish_timeout`, then fail with PublishError. Nothing is dropped silently.
 */
import { PublishError } from '../../../src/errors.js';

interface Waiter {
  resolve(): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
}

/** Open while connected; `wait()` resolves at once when open, otherwise when opened or times out. */
export class ReadyGate {
  private isOpen = false;
  private closedFor: Error | undefined;
  private readonly waiters = new Set<Waiter>();

  /** Whether publishes may proceed right now. */
  get open(): boolean {
    return this.isOpen;
  }

  /** Marks the connection usable and releases every waiter. */
  openGate(): void {
    this.isOpen = true;
    this.closedFor = undefined;
    for (const waiter of this.waiters) {
      clearTimeout(waiter.timer);
      waiter.resolve();
    }
    this.waiters.clear();
  }

  /** Marks the connection unusable for now (also after a fail(): a new attempt is under way); publishers wait. */
  shut(): void {
    this.isOpen = false;
    this.closedFor = undefined;
  }

  /** Marks the connection gone for good: every waiter and every later wait fails with `error`. */
  fail(error: Error): void {
    this.isOpen = false;
    this.closedFor = error;
    for (const waiter of this.waiters) {
      clearTimeout(waiter.timer);
      waiter.reject(error);
    }
    this.waiters.clear();
  }

  /** Waits up to `timeoutMs` for the gate to open; rejects with PublishError naming `what`. */
  wait(timeoutMs: number, what: string): Promise<void> {
    if (this.isOpen) return Promise.resolve();
    if (this.closedFor) return Promise.reject(new PublishError(`cannot publish ${what}: ${this.closedFor.message}`, { cause: this.closedFor }));
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        resolve,
        reject: (error) => reject(new PublishError(`cannot publish ${what}: ${error.message}`, { cause: error })),
        timer: setTimeout(() => {
          this.waiters.delete(waiter);
          reject(new PublishError(`cannot publish ${what}: not connected to any broker within ${timeoutMs / 1000} s (publish_timeout)`));
        }, timeoutMs),
      };
      this.waiters.add(waiter);
    });
  }

  /** Waiting publishers, for diagnostics. */
  get pending(): number {
    return this.waiters.size;
  }
}
