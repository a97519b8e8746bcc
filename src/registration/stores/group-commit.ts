/**
 * Group commit for registration writes: registrations that arrive while a write is running (or in the same turn
 * of the event loop) are written together, in one transaction, by the next write; each caller's promise settles
 * only once the transaction holding its registration committed, so an acknowledgement sent after `record()`
 * resolves is never ahead of the data. One write runs at a time, so two registrations of one node are written in
 * the order they arrived. A lone registration waits for nothing but one turn of the event loop.
 */
import type { RegisteredNode } from '../../inter/registration.js';
import type { NormalizedUpdate } from './record.js';

/** Writes a batch in one transaction; resolves to the stored record of each update, in order. */
export type BatchWriter = (updates: readonly NormalizedUpdate[]) => Promise<RegisteredNode[]> | RegisteredNode[];

/** How batches are cut. */
export interface GroupCommitOptions {
  /** The most registrations one transaction writes. */
  maxBatch: number;
  /**
   * Whether one batch may hold a node twice. A single SQL statement cannot (PostgreSQL's upsert refuses to touch
   * a row twice): a second registration of a node then starts the next batch.
   */
  repeatsAllowed: boolean;
}

interface Waiting {
  update: NormalizedUpdate;
  resolve(node: RegisteredNode): void;
  reject(error: unknown): void;
}

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** A queue of registrations written in batches by one BatchWriter. */
export class GroupCommit {
  private queue: Waiting[] = [];
  private running: Promise<void> | undefined;

  constructor(private readonly write: BatchWriter, private readonly options: GroupCommitOptions) {}

  /** Queues a checked registration; resolves to its stored record once its transaction committed. */
  submit(update: NormalizedUpdate): Promise<RegisteredNode> {
    return new Promise<RegisteredNode>((resolve, reject) => {
      this.queue.push({ update, resolve, reject });
      this.running ??= this.drainQueue();
    });
  }

  /** Resolves once every registration submitted so far is written (or failed). */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  private async drainQueue(): Promise<void> {
    try {
      // Let registrations arriving in this turn of the event loop join the first batch.
      await nextTurn();
      while (this.queue.length > 0) {
        await this.writeBatch(this.take());
        // Registrations that arrived during the write are read from the sockets before the next batch is cut.
        if (this.queue.length > 0) await nextTurn();
      }
    } finally {
      this.running = undefined;
    }
  }

  private take(): Waiting[] {
    const batch: Waiting[] = [];
    const identities = new Set<string>();
    while (this.queue.length > 0 && batch.length < this.options.maxBatch) {
      const next = this.queue[0]!;
      if (!this.options.repeatsAllowed && identities.has(next.update.identity)) break;
      identities.add(next.update.identity);
      batch.push(this.queue.shift()!);
    }
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
