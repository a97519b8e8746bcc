/**
 * Group commit for registration writes: registrations that arrive while a write is running (or in the same turn
 * of the event loop) are written together, in one transaction, by the next write; each caller's promise settles
 * only once the transaction holding its registration committed, so an acknowledgement sent after `record()`
 * resolves is never ahead of the data. Up to `concurrency` batches are written at once (a database server with
 * several cores works on them in parallel); a node is never in two of them, so two registrations of one node are
 * written in the order they arrived. A lone registration waits at most one turn of the event loop.
 */
import type { RegisteredNode } from '../../inter/registration.js';
import type { NormalizedUpdate } from './record.js';

/** Writes a batch in one transaction; resolves to the stored record of each update, in order. */
export type BatchWriter = (updates: readonly NormalizedUpdate[]) => Promise<RegisteredNode[]> | RegisteredNode[];

/** How batches are cut and written. */
export interface GroupCommitOptions {
  /** The most registrations one transaction writes. */
  maxBatch: number;
  /**
   * Whether one batch may hold a node twice. A single SQL statement cannot (PostgreSQL's upsert refuses to touch
   * a row twice): a second registration of a node then waits for a later batch.
   */
  repeatsAllowed: boolean;
  /** Batches written at once (1 for a synchronous writer); 1 by default. */
  concurrency?: number;
  /**
   * Whether a registration arriving while nothing is being written waits one turn of the event loop for company
   * (true, the default: a synchronous writer, which would otherwise write everything alone) or is written at
   * once (false: an asynchronous writer, whose later arrivals gather while the first write is in flight).
   */
  gather?: boolean;
}

interface Waiting {
  update: NormalizedUpdate;
  resolve(node: RegisteredNode): void;
  reject(error: unknown): void;
}

/** A queue of registrations written in batches by one BatchWriter. */
export class GroupCommit {
  private queue: Waiting[] = [];
  /** Nodes in the batches being written. */
  private readonly busy = new Set<string>();
  private writing = 0;
  private scheduled = false;
  private idleWaiters: Array<() => void> = [];
  private readonly concurrency: number;

  constructor(private readonly write: BatchWriter, private readonly options: GroupCommitOptions) {
    this.concurrency = Math.max(1, options.concurrency ?? 1);
  }

  /** Queues a checked registration; resolves to its stored record once its transaction committed. */
  submit(update: NormalizedUpdate): Promise<RegisteredNode> {
    return new Promise<RegisteredNode>((resolve, reject) => {
      this.queue.push({ update, resolve, reject });
      if (this.options.gather === false && this.writing < this.concurrency && !this.scheduled) this.launch();
      else this.schedule();
    });
  }

  /** Resolves once every registration submitted so far is written (or failed). */
  idle(): Promise<void> {
    if (this.queue.length === 0 && this.writing === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Cuts batches on the next turn of the event loop, so registrations read from the sockets meanwhile join them. */
  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.launch();
    });
  }

  private launch(): void {
    while (this.writing < this.concurrency) {
      const batch = this.take();
      if (batch.length === 0) break;
      this.writing++;
      for (const waiting of batch) this.busy.add(waiting.update.identity);
      void this.writeBatch(batch).finally(() => {
        this.writing--;
        for (const waiting of batch) this.busy.delete(waiting.update.identity);
        if (this.queue.length > 0) this.schedule();
        else if (this.writing === 0) for (const wake of this.idleWaiters.splice(0)) wake();
      });
    }
  }

  /** The next batch, in arrival order, leaving behind (for a later batch) the nodes being written or repeated. */
  private take(): Waiting[] {
    const batch: Waiting[] = [];
    const rest: Waiting[] = [];
    const inBatch = new Set<string>();
    // Once one registration of a node stays behind, every later one of that node does too: order per node.
    const held = new Set<string>();
    for (const waiting of this.queue) {
      const identity = waiting.update.identity;
      const blocked = batch.length >= this.options.maxBatch || this.busy.has(identity) || held.has(identity)
        || (!this.options.repeatsAllowed && inBatch.has(identity));
      if (blocked) {
        held.add(identity);
        rest.push(waiting);
      } else {
        inBatch.add(identity);
        batch.push(waiting);
      }
    }
    this.queue = rest;
    return batch;
  }

  private async writeBatch(batch: Waiting[]): Promise<void> {
    try {
      const stored = await this.write(batch.map((waiting) => waiting.update));
      batch.forEach((waiting, index) => waiting.resolve(stored[index]!));
    } catch (error) {
      if (batch.length === 1) {
        batch[0]!.reject(error);
        return;
      }
      // One registration the database refuses must not fail the others: each is written on its own, so each
      // caller hears its own outcome.
      for (const waiting of batch) await this.writeBatch([waiting]);
    }
  }
}
