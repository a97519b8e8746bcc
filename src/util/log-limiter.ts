/**
 * Rate-limited logging for lines an attacker can cause one per message (refused requests, oversize frames,
 * rejected replies). Counters stay exact (the caller counts every event); the log gets at most `burst` lines per
 * `intervalMs` for each kind, then one summary line per interval saying how many were suppressed. So 100,000 junk
 * messages cost a handful of log lines instead of 100,000.
 */
import type { Logger } from '../inter/logger.js';

/** Severity of a limited line. */
export type LimitedLevel = 'debug' | 'info' | 'warn' | 'error';

/** How a LogLimiter behaves. */
export interface LogLimiterOptions {
  /** Lines logged per kind and interval before suppression starts; 10 by default. */
  burst?: number;
  /** The interval in milliseconds; 60 000 by default. */
  intervalMs?: number;
  /** Kinds tracked at once (bounded memory: the oldest kind is summarised and forgotten); 1 000 by default. */
  maxKinds?: number;
  /** Injected clock (milliseconds), for tests. */
  now?: () => number;
  /** Summarise finished intervals from an unref'd timer, so a flood that stops still gets its summary; true by default. */
  timer?: boolean;
}

interface Window {
  startedAt: number;
  logged: number;
  suppressed: number;
  level: LimitedLevel;
  msg: string;
}

/** Logs at most `burst` lines per kind and interval, then summarises what it suppressed. */
export class LogLimiter {
  private readonly burst: number;
  private readonly intervalMs: number;
  private readonly maxKinds: number;
  private readonly now: () => number;
  private readonly windows = new Map<string, Window>();
  private readonly sweeper: NodeJS.Timeout | undefined;

  constructor(private readonly logger: Logger, options: LogLimiterOptions = {}) {
    this.burst = options.burst ?? 10;
    this.intervalMs = options.intervalMs ?? 60_000;
    this.maxKinds = options.maxKinds ?? 1000;
    this.now = options.now ?? Date.now;
    if (!Number.isInteger(this.burst) || this.burst < 1) throw new RangeError(`"burst" expected an integer >= 1, got ${this.burst}`);
    if (!(this.intervalMs > 0)) throw new RangeError(`"intervalMs" expected a positive number, got ${this.intervalMs}`);
    if (options.timer ?? true) {
      this.sweeper = setInterval(() => this.sweep(), this.intervalMs);
      this.sweeper.unref();
    }
  }

  /**
   * Logs `msg` at `level` unless `kind` (for example a refusal code) already used its burst in this interval.
   * Returns whether the line was written.
   */
  log(level: LimitedLevel, kind: string, fields: object, msg: string): boolean {
    const now = this.now();
    let window = this.windows.get(kind);
    if (window && now - window.startedAt >= this.intervalMs) {
      this.summarise(kind, window);
      this.windows.delete(kind);
      window = undefined;
    }
    if (!window) {
      if (this.windows.size >= this.maxKinds) this.evictOldest();
      window = { startedAt: now, logged: 0, suppressed: 0, level, msg };
      this.windows.set(kind, window);
    }
    if (window.logged < this.burst) {
      window.logged++;
      this.logger[level](fields, msg);
      return true;
    }
    window.suppressed++;
    return false;
  }

  /** Summarises and forgets every kind whose interval is over. */
  sweep(): void {
    const now = this.now();
    for (const [kind, window] of this.windows) {
      if (now - window.startedAt < this.intervalMs) continue;
      this.summarise(kind, window);
      this.windows.delete(kind);
    }
  }

  /** Writes the summary line of every kind with suppressed lines and starts new intervals (at shutdown). */
  flush(): void {
    for (const [kind, window] of this.windows) this.summarise(kind, window);
    this.windows.clear();
  }

  /** Flushes and stops the timer. */
  close(): void {
    this.flush();
    if (this.sweeper) clearInterval(this.sweeper);
  }

  private evictOldest(): void {
    const [kind, window] = this.windows.entries().next().value as [string, Window];
    this.summarise(kind, window);
    this.windows.delete(kind);
  }

  private summarise(kind: string, window: Window): void {
    if (window.suppressed === 0) return;
    const seconds = Math.max(1, Math.round((this.now() - window.startedAt) / 1000));
    this.logger[window.level](
      { kind, suppressed: window.suppressed, seconds },
      `${window.suppressed} more like "${window.msg}" suppressed in the last ${seconds}s (counters are exact)`,
    );
  }
}
