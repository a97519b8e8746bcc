/**
 * Inbound delivery for one subscription: turns STOMP MESSAGE frames into InboundMessages, checks
 * them, and hands them to the subscriber's handler one at a time (the next waits until the
 * handler's promise settles). A message whose expiry passed while it waited is dropped; a bad
 * frame, an overflowing backlog or a failing handler is counted and logged, never thrown.
 */
import type { IMessage } from '@stomp/stompjs';
import type { InboundMessage, MessageHandler } from '../../../src/inter/connector.js';
import type { Counters, Logger } from '../../../src/inter/logger.js';

/** Most messages one subscription may have waiting for its handler; more are dropped (counted, logged). */
export const MAX_BACKLOG = 10_000;

/** What a Dispatcher needs from its connector. */
export interface DispatchContext {
  /** Counter prefix, for example `connector.activemq`. */
  counterPrefix: string;
  counters: Counters;
  logger: Logger;
  /** When the message expires (ms since the epoch), or undefined when it does not say. */
  expiresAt(headers: Readonly<Record<string, string>>): number | undefined;
  /** The clock, replaceable in tests. */
  now?(): number;
}

/**
 * Why a MESSAGE frame is unusable, or undefined when it is fine. Checks what the broker framed:
 * a body whose length disagrees with its `content-length` was cut or padded on the way.
 */
export function inboundFrameProblem(message: IMessage): string | undefined {
  if (!(message.binaryBody instanceof Uint8Array)) return 'no body';
  const declared = message.headers['content-length'];
  if (declared !== undefined) {
    if (!/^\d+$/.test(declared)) return `content-length ${JSON.stringify(declared)} is not a number`;
    if (Number(declared) !== message.binaryBody.length) return `content-length ${declared} but the body has ${message.binaryBody.length} bytes`;
  }
  return undefined;
}

/** Builds the InboundMessage of a checked MESSAGE frame (the body is copied, the headers frozen). */
export function toInboundMessage(message: IMessage): InboundMessage {
  const headers = Object.freeze({ ...message.headers });
  const inbound: InboundMessage = { body: Uint8Array.from(message.binaryBody), headers };
  if (headers.mc_sender) inbound.sender = headers.mc_sender;
  if (headers['reply-to']) inbound.replyTo = headers['reply-to'];
  return inbound;
}

/** The serial delivery queue of one subscription. */
export class Dispatcher {
  private readonly backlog: InboundMessage[] = [];
  private running = false;
  private stopped = false;

  constructor(
    private readonly destination: string,
    private readonly handler: MessageHandler,
    private readonly context: DispatchContext,
  ) {}

  /** Accepts a MESSAGE frame from the broker; never throws. */
  deliver(message: IMessage): void {
    const { counters, counterPrefix, logger } = this.context;
    if (this.stopped) return;
    counters.increment(`${counterPrefix}.received`);
    const problem = inboundFrameProblem(message);
    if (problem !== undefined) {
      counters.increment(`${counterPrefix}.inbound_invalid`);
      logger.warn({ destination: this.destination, problem, messageId: message.headers['message-id'] }, 'dropped a malformed inbound message');
      return;
    }
    if (this.backlog.length >= MAX_BACKLOG) {
      counters.increment(`${counterPrefix}.backlog_overflow`);
      logger.error({ destination: this.destination, backlog: this.backlog.length }, 'dropped an inbound message: the handler is too slow and the backlog is full');
      return;
    }
    const inbound = toInboundMessage(message);
    if (inbound.sender === undefined) {
      counters.increment(`${counterPrefix}.inbound_without_sender`);
      logger.warn({ destination: this.destination }, 'inbound message has no mc_sender header');
    }
    this.backlog.push(inbound);
    if (!this.running) void this.drain();
  }

  /** Messages waiting for the handler. */
  get waiting(): number {
    return this.backlog.length;
  }

  /** Stops delivering; waiting messages are discarded (the subscription is gone). */
  stop(): void {
    this.stopped = true;
    const discarded = this.backlog.length;
    this.backlog.length = 0;
    if (discarded > 0) {
      this.context.counters.increment(`${this.context.counterPrefix}.discarded_on_unsubscribe`, discarded);
      this.context.logger.info({ destination: this.destination, discarded }, 'unsubscribed with messages still waiting; discarded them');
    }
  }

  private async drain(): Promise<void> {
    const { counters, counterPrefix, logger } = this.context;
    const now = this.context.now ?? Date.now;
    this.running = true;
    try {
      for (let message = this.backlog.shift(); message !== undefined; message = this.backlog.shift()) {
        const expiresAt = this.context.expiresAt(message.headers);
        if (expiresAt !== undefined && now() > expiresAt) {
          counters.increment(`${counterPrefix}.expired`);
          logger.debug({ destination: this.destination, expiredMsAgo: now() - expiresAt }, 'dropped an expired inbound message');
          continue;
        }
        try {
          await this.handler(message);
        } catch (error) {
          counters.increment(`${counterPrefix}.handler_errors`);
          logger.error({ destination: this.destination, error: error instanceof Error ? error.message : String(error) }, 'message handler failed');
        }
        if (this.stopped) break;
      }
    } finally {
      this.running = false;
    }
  }
}
