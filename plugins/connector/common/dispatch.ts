/**
 * Inbound delivery for one subscription: hands its messages to the subscriber's handler one at a time (the next
 * waits until the handler's promise settles). A message whose expiry passed while it waited is dropped; an
 * overflowing backlog or a failing handler is counted and logged (rate-limited), never thrown.
 */
import type { InboundMessage, MessageHandler } from '../../../src/inter/connector.js';
import type { Counters } from '../../../src/inter/logger.js';
import type { LimitedLevel } from '../../../src/util/log-limiter.js';
import { Fifo } from './fifo.js';

/** Most messages one subscription may have waiting for its handler; more are dropped (counted, logged). */
export const MAX_BACKLOG = 10_000;

/** A rate-limited log (LogLimiter): lines a sender can cause once per message. */
export interface LimitedLog {
  log(level: LimitedLevel, kind: string, fields: object, msg: string): boolean;
}

/** What a Dispatcher needs from its connector. */
export interface DispatchContext {
  /** Counter prefix, for example `connector.activemq`. */
  counterPrefix: string;
  counters: Counters;
  log: LimitedLog;
  /** The clock, replaceable in tests. */
  now?(): number;
}

interface Waiting {
  message: InboundMessage;
  expiresAt: number | undefined;
  done(): void;
}

/** The serial delivery queue of one subscription. */
export class Dispatcher {
  private readonly backlog = new Fifo<Waiting>();
  private running = false;
  private stopped = false;

  /** Counter names, made once: deliver() runs for every message. */
  private readonly names: { received: string; overflow: string; withoutSender: string };

  constructor(
    private readonly destination: string,
    private readonly handler: MessageHandler,
    private readonly context: DispatchContext,
  ) {
    const prefix = context.counterPrefix;
    this.names = { received: `${prefix}.received`, overflow: `${prefix}.backlog_overflow`, withoutSender: `${prefix}.inbound_without_sender` };
  }

  /** Accepts a message; the promise settles when its handler has (or at once when it is dropped). Never rejects. */
  deliver(message: InboundMessage, expiresAt: number | undefined): Promise<void> {
    const { counters, log } = this.context;
    if (this.stopped) return Promise.resolve();
    counters.increment(this.names.received);
    if (this.backlog.length >= MAX_BACKLOG) {
      counters.increment(this.names.overflow);
      log.log('error', 'backlog_overflow', { destination: this.destination, backlog: this.backlog.length }, 'dropped an inbound message: the handler is too slow and the backlog is full');
      return Promise.resolve();
    }
    if (message.sender === undefined) {
      counters.increment(this.names.withoutSender);
      log.log('warn', 'without_sender', { destination: this.destination }, 'inbound message has no mc_sender header');
    }
    return new Promise<void>((done) => {
      this.backlog.push({ message, expiresAt, done });
      if (!this.running) void this.drain();
    });
  }

  /** Messages waiting for the handler. */
  get waiting(): number {
    return this.backlog.length;
  }

  /** Stops delivering; waiting messages are discarded (the subscription is gone). */
  stop(): void {
    this.stopped = true;
    const discarded = this.backlog.drain();
    for (const entry of discarded) entry.done();
    if (discarded.length > 0) {
      this.context.counters.increment(`${this.context.counterPrefix}.discarded_on_unsubscribe`, discarded.length);
      this.context.log.log('info', 'discarded', { destination: this.destination, discarded: discarded.length }, 'unsubscribed with messages still waiting; discarded them');
    }
  }

  private async drain(): Promise<void> {
    const { counters, counterPrefix, log } = this.context;
    const now = this.context.now ?? Date.now;
    this.running = true;
    try {
      for (let entry = this.backlog.shift(); entry !== undefined; entry = this.backlog.shift()) {
        try {
          if (entry.expiresAt !== undefined && now() > entry.expiresAt) {
            counters.increment(`${counterPrefix}.expired`);
            log.log('debug', 'expired', { destination: this.destination, expiredMsAgo: now() - entry.expiresAt }, 'dropped an expired inbound message');
            continue;
          }
          await this.handler(entry.message);
        } catch (error) {
          counters.increment(`${counterPrefix}.handler_errors`);
          log.log('error', 'handler_error', { destination: this.destination, error: error instanceof Error ? error.message : String(error) }, 'message handler failed');
        } finally {
          entry.done();
        }
        if (this.stopped) break;
      }
    } finally {
      this.running = false;
    }
  }
}
