/**
 * Bounded waits for tests. No test waits for a message, an event or a process without a limit: these fail
 * naming what they waited for (a hang guard with a generous limit, not a timing assertion).
 */
import assert from 'node:assert/strict';

/** How long and for what a wait is. */
export interface WaitOptions {
  /** Give up after this many milliseconds. */
  timeoutMs: number;
  /** What is awaited, for the failure message: "the reply to ping". */
  what: string;
  /** Polling interval for waitFor, ms (default 10). */
  intervalMs?: number;
}

/** Polls `predicate` until it returns true; fails after `timeoutMs` naming `what`. */
export async function waitFor(predicate: () => boolean | Promise<boolean>, options: WaitOptions): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    if (await predicate()) return;
    if (Date.now() >= deadline) assert.fail(`timed out after ${options.timeoutMs} ms waiting for ${options.what}`);
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 10));
  }
}

/** Resolves with `promise`, or fails after `timeoutMs` naming `what`. */
export async function within<T>(promise: Promise<T>, options: WaitOptions): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new assert.AssertionError({ message: `timed out after ${options.timeoutMs} ms waiting for ${options.what}` })), options.timeoutMs);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
