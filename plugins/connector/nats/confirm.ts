/**
 * Batched confirmations for core NATS. The server handles one connection's protocol in order, so when the PONG
 * of a PING sent after some publishes and subscriptions arrives, the server has processed all of them (and sent
 * any -ERR about them first). Everything that asks for a confirmation in the same tick joins one batch: one PING
 * is sent for it on the next microtask, after the client wrote them all, and one timer bounds it.
 */
import { ConnectionError, PublishError } from '../../../src/errors.js';

/** One PING/PONG round trip that several operations wait for. */
interface Batch {
  readonly promise: Promise<void>;
  settle(error?: Error): void;
}

function newBatch(): Batch {
  let resolve!: () => void;
  let reject!: (error: Error) => void;
  let settled = false;
  const promise = new Promise<void>((ok, fail) => {
    resolve = ok;
    reject = fail;
  });
  // Every batch has a waiter; this only keeps a batch failed after its waiters gave up from being "unhandled".
  promise.catch(() => undefined);
  return {
    promise,
    settle(error) {
      if (settled) return;
      settled = true;
      if (error) reject(error);
      else resolve();
    },
  };
}

/** Confirms operations of one connection in batches, one flush per tick. */
export class ConfirmationBatcher {
  private forming: Batch | undefined;
  private readonly pending = new Set<Batch>();
  private failure: ConnectionError | undefined;

  /**
   * @param flush sends a PING and resolves on its PONG (NatsConnection.flush)
   * @param where the server, for messages
   */
  constructor(
    private readonly flush: () => Promise<void>,
    private readonly where: string,
  ) {}

  /**
   * Resolves once the server has processed everything written before this call. Rejects with PublishError when
   * no PONG came within `timeoutMs` (the batch's first waiter sets it), with ConnectionError when the connection
   * ended first.
   */
  confirm(timeoutMs: number): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.forming) return this.forming.promise;
    const batch = newBatch();
    this.forming = batch;
    this.pending.add(batch);
    const timer = setTimeout(() => batch.settle(new PublishError(`${this.where} did not confirm within ${timeoutMs / 1000} s (no PONG)`)), timeoutMs);
    queueMicrotask(() => {
      this.forming = undefined;
      let round: Promise<void>;
      try {
        round = this.flush();
      } catch (error) {
        round = Promise.reject(error);
      }
      round.then(
        () => batch.settle(),
        (error: Error) => batch.settle(this.failure ?? new ConnectionError(`${this.where}: ${error.message}`, { cause: error })),
      ).finally(() => {
        clearTimeout(timer);
        this.pending.delete(batch);
      });
    });
    return batch.promise;
  }

  /** The connection ended: every waiting confirmation fails with `error`, and so does every later one. */
  failAll(error: ConnectionError): void {
    this.failure = error;
    for (const batch of this.pending) batch.settle(error);
    this.pending.clear();
  }
}
