/**
 * A bounded memory of request ids seen within their validity window. When a flood fills it, the oldest
 * entries are evicted and a freshness floor rises to their message time: a request dated at or before the
 * floor that is not remembered can no longer be proven fresh, so it is refused as a possible replay.
 * Memory stays bounded and no replay is ever accepted; the price under a flood is refusing some
 * legitimate but older requests. The server's replay journal (replay-journal.ts) persists the entries and the
 * floor, so a restart remembers them too.
 */

/** Outcome of checking a request id. */
export type ReplayVerdict = 'fresh' | 'replayed' | 'unprovable';

interface Seen {
  msgtime: number;
  expiresAt: number;
}

/** Remembers (callerid, requestid) pairs until their request expires. */
export class ReplayCache {
  private readonly seen = new Map<string, Seen>();
  private floorMsgtime = Number.NEGATIVE_INFINITY;
  private evictedUnexpired = 0;

  constructor(private readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`"replay cache capacity" expected a positive integer, got ${capacity}`);
  }

  /** Number of remembered ids. */
  get size(): number {
    return this.seen.size;
  }

  /** How many unexpired entries were evicted to keep memory bounded. */
  get evictions(): number {
    return this.evictedUnexpired;
  }

  /** The freshness floor (epoch seconds): unremembered requests dated at or before it are unprovable. */
  get floor(): number {
    return this.floorMsgtime;
  }

  /** Raises the floor to `msgtime` (never lowers it): a damaged journal, or a floor read back from one. */
  raiseFloor(msgtime: number): void {
    if (msgtime > this.floorMsgtime) this.floorMsgtime = msgtime;
  }

  /** Forgets one key: its request was refused after all (it could not be made durable), so it may come again. */
  forget(key: string): void {
    this.seen.delete(key);
  }

  /** The remembered entries, oldest first: `[key, msgtime, expiresAt]`. */
  *entries(): IterableIterator<[key: string, msgtime: number, expiresAt: number]> {
    for (const [key, entry] of this.seen) yield [key, entry.msgtime, entry.expiresAt];
  }

  /**
   * Checks and records a request. `msgtime` and `nowSeconds` are epoch seconds; the id is remembered until
   * `expiresAt` (epoch seconds: when the request can no longer pass the TTL check anyway).
   */
  check(key: string, msgtime: number, expiresAt: number, nowSeconds: number): ReplayVerdict {
    this.expire(nowSeconds);
    if (this.seen.has(key)) return 'replayed';
    if (msgtime <= this.floorMsgtime) return 'unprovable';
    this.seen.set(key, { msgtime, expiresAt });
    while (this.seen.size > this.capacity) {
      const [oldestKey, oldest] = this.seen.entries().next().value as [string, Seen];
      this.seen.delete(oldestKey);
      if (oldest.expiresAt > nowSeconds) {
        this.evictedUnexpired++;
        if (oldest.msgtime > this.floorMsgtime) this.floorMsgtime = oldest.msgtime;
      }
    }
    return 'fresh';
  }

  /** Drops entries from the front of insertion order while they are expired (amortised O(1) per check). */
  private expire(nowSeconds: number): void {
    for (const [key, entry] of this.seen) {
      if (entry.expiresAt > nowSeconds) break;
      this.seen.delete(key);
    }
  }
}
