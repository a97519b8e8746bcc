/** An in-memory Counters implementation (daemon_stats and security failure counts read from it). */
import type { Counters } from '../inter/logger.js';

/** Counters backed by a Map; names are free-form, for example `security.TSC_SEC_EXPIRED`. */
export class MemoryCounters implements Counters {
  private readonly values = new Map<string, number>();

  increment(name: string, by = 1): void {
    this.values.set(name, (this.values.get(name) ?? 0) + by);
  }

  get(name: string): number {
    return this.values.get(name) ?? 0;
  }

  snapshot(): Record<string, number> {
    return Object.fromEntries([...this.values.entries()].sort(([a], [b]) => a.localeCompare(b)));
  }
}
