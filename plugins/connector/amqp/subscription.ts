/**
 * One AMQP subscription of the connector: its private queue (server-named and bound to the
 * collective's broadcast or directed exchange, or the named reply queue), its consumer on the current
 * connection, and the sequential hand-off of deliveries to the handler: one at a time, acknowledged
 * after the handler settles, expired ones (past `mc_expires`) dropped and counted.
 */
import type { Channel, ConsumeMessage } from 'amqplib';
import type { MessageHandler } from '../../../src/inter/connector.js';
import type { Counters, Logger } from '../../../src/inter/logger.js';
import { PRIVATE_QUEUE_OPTIONS, broadcastExchange, directedExchange, parseDelivery } from './topology.js';

/** What a subscription receives: broadcast requests for an agent, directed requests for a node, or replies. */
export type SubscriptionKind = 'broadcast' | 'directed' | 'reply';

/** A subscription that survives reconnects: bound again on every new connection until cancelled. */
export class AmqpSubscription {
  /** The channel of the current binding (undefined while disconnected). */
  channel: Channel | undefined;
  private consumerTag: string | undefined;
  private active = true;
  private draining = false;
  private readonly backlog: Array<{ delivery: ConsumeMessage; channel: Channel }> = [];

  constructor(
    readonly kind: SubscriptionKind,
    readonly collective: string,
    /** Agent (broadcast), identity (directed) or queue name (reply). */
    readonly key: string,
    private readonly handler: MessageHandler,
    private readonly counters: Counters,
    private readonly logger: Logger,
  ) {}

  /** `<collective>_broadcast/<agent>`, `<collective>_directed/<identity>` or `reply queue <name>`, for logs. */
  describe(): string {
    switch (this.kind) {
      case 'broadcast': return `${broadcastExchange(this.collective)}/${this.key}`;
      case 'directed': return `${directedExchange(this.collective)}/${this.key}`;
      case 'reply': return `reply queue ${this.key}`;
    }
  }

  /** Declares the queue on `channel`, binds it (after `declareExchanges`), and starts consuming. */
  async bind(channel: Channel, declareExchanges: (collective: string) => Promise<void>): Promise<void> {
    let queue: string;
    if (this.kind === 'reply') {
      queue = (await channel.assertQueue(this.key, PRIVATE_QUEUE_OPTIONS)).queue;
    } else {
      await declareExchanges(this.collective);
      queue = (await channel.assertQueue('', PRIVATE_QUEUE_OPTIONS)).queue;
      const exchange = this.kind === 'broadcast' ? broadcastExchange(this.collective) : directedExchange(this.collective);
      await channel.bindQueue(queue, exchange, this.key);
    }
    const { consumerTag } = await channel.consume(queue, (delivery) => this.receive(channel, delivery), { noAck: false, exclusive: true });
    this.channel = channel;
    this.consumerTag = consumerTag;
    // Cancelled while binding: undo at once.
    if (!this.active) await this.cancel();
  }

  /** Forgets the binding of a connection that is gone (its deliveries and private queue went with it). */
  detach(): void {
    this.channel = undefined;
    this.consumerTag = undefined;
    this.backlog.length = 0;
  }

  /** Stops delivery for good; the auto-delete queue disappears with its only consumer. */
  async cancel(): Promise<void> {
    this.active = false;
    this.backlog.length = 0;
    const { channel, consumerTag } = this;
    this.detach();
    if (channel && consumerTag) await channel.cancel(consumerTag).catch((error: Error) => this.logger.debug({ error: error.message }, 'cancel failed'));
  }

  private receive(channel: Channel, delivery: ConsumeMessage | null): void {
    if (delivery === null) {
      this.counters.increment('connector.amqp.consumer_cancelled');
      this.logger.warn({ subscription: this.describe() }, 'the broker cancelled the subscription (queue deleted)');
      return;
    }
    if (!this.active) return;
    this.backlog.push({ delivery, channel });
    if (!this.draining) void this.drain();
  }

  /** Hands the backlog to the handler one message at a time; acknowledges each after its handler settles. */
  private async drain(): Promise<void> {
    this.draining = true;
    try {
      while (this.active && this.backlog.length > 0) {
        const { delivery, channel } = this.backlog.shift()!;
        const { message, expiresAt } = parseDelivery(delivery);
        if (expiresAt !== undefined && Date.now() > expiresAt) {
          this.counters.increment('connector.amqp.expired');
          this.logger.info({ subscription: this.describe(), expiredMsAgo: Date.now() - expiresAt }, 'message expired before delivery: dropped');
        } else {
          this.counters.increment('connector.amqp.received');
          try {
            await this.handler(message);
          } catch (error) {
            this.counters.increment('connector.amqp.handler_errors');
            this.logger.error({ subscription: this.describe(), error: error instanceof Error ? error.message : String(error) }, 'message handler failed');
          }
        }
        try {
          channel.ack(delivery);
        } catch {
          // The channel died meanwhile; its deliveries are gone with it.
        }
      }
    } finally {
      this.draining = false;
    }
  }
}
