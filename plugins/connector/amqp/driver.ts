/**
 * The AMQP 0-9-1 driver of the shared connector base (RabbitMQ, through amqplib), with MCollective's layout
 * (topology.ts). A session is one connection with three channels, each guarded against bodies over
 * max_message_size (guard.ts):
 * - a ConfirmChannel for requests: a request publish resolves once the broker confirmed it; a nack is a
 *   PublishError, a connection lost first a ConnectionError (sent again);
 * - a channel consuming requests (private queues bound to the collective's exchanges): a delivery is acknowledged
 *   once the base has handed it to the handler and the handler settled, so at most `prefetch` wait per subscription;
 * - a reply channel: a client consumes its exclusive reply queue without acknowledgements (the queue is its own
 *   and dies with the connection, so an acknowledgement would only cost a socket write per reply), and a daemon
 *   publishes replies without confirms (nothing waits for one: a reply lost with the connection is lost, as with
 *   MCollective), waiting only when the socket's buffer is full.
 */
import type { Channel, ChannelModel, ConfirmChannel, ConsumeMessage, Options } from 'amqplib';
import { ConnectionError, PublishError } from '../../../src/errors.js';
import type { Counters, Logger } from '../../../src/inter/logger.js';
import type { ConnectorDriver, Deliver, DriverSession, OpenOptions, OutboundMessage, SessionEvents, SubscribeRoute } from '../common/driver.js';
import { describeHost } from '../pool/failover.js';
import type { PoolHost } from '../pool/options.js';
import { openConnection } from './connection.js';
import { guardMessageSize } from './guard.js';
import type { AmqpOptions } from './options.js';
import {
  EXCHANGE_OPTIONS, PRIVATE_QUEUE_OPTIONS, broadcastExchange, directedExchange, parseDelivery, publishProperties, replyQueueName,
} from './topology.js';

/** What the AMQP driver needs besides its options. */
export interface AmqpDriverContext {
  identity: string;
  counters: Counters;
  logger: Logger;
}

/** AMQP 0-9-1 for the `amqp` connector. */
export class AmqpDriver implements ConnectorDriver {
  constructor(
    private readonly options: AmqpOptions,
    private readonly context: AmqpDriverContext,
  ) {}

  /** Connects and opens the session's three channels (guarded). */
  async open(host: PoolHost, how: OpenOptions): Promise<DriverSession> {
    const model = await openConnection(host, { options: this.options, identity: this.context.identity, signal: how.signal, timeoutMs: how.timeoutMs });
    try {
      // Opened together: one round trip instead of three before a client can publish.
      const [publishChannel, consumeChannel, replyChannel] = await Promise.all([model.createConfirmChannel(), model.createChannel(), model.createChannel()]);
      const session = new AmqpSession(model, host, { publish: publishChannel, consume: consumeChannel, reply: replyChannel }, this.options, this.context, how.events);
      for (const channel of [publishChannel, consumeChannel, replyChannel]) {
        guardMessageSize(channel, how.maxMessageSize, (dropped) => how.events.oversize({ bytes: dropped.bytes, where: dropped.where }), channel !== replyChannel);
      }
      return session;
    } catch (error) {
      await model.close().catch(() => undefined);
      throw error instanceof ConnectionError ? error : new ConnectionError(`cannot open channels on ${describeHost(host)}: ${(error as Error).message}`, { cause: error });
    }
  }

  /** An exclusive reply queue name: `<collective>.reply.<identity>_<pid>.<seq>.<random>`. */
  newReplyTo(collective: string, identity: string): string {
    return replyQueueName(collective, identity);
  }
}

/** The channels of a session (see the module comment). */
interface SessionChannels {
  publish: ConfirmChannel;
  consume: Channel;
  reply: Channel;
}

/** One AMQP connection as the base sees it. */
class AmqpSession implements DriverSession {
  private closed = false;
  private closing = false;
  /** Exchanges declared on this connection, by collective. */
  private readonly declared = new Map<string, Promise<void>>();
  private readonly publishChannel: ConfirmChannel;
  private readonly consumeChannel: Channel;
  private readonly replyChannel: Channel;
  /** The consume channel's prefetch, set before its first consumer (a client, which has none, never waits for it). */
  private prefetched: Promise<unknown> | undefined;

  constructor(
    private readonly model: ChannelModel,
    readonly host: PoolHost,
    channels: SessionChannels,
    private readonly options: AmqpOptions,
    private readonly context: AmqpDriverContext,
    events: SessionEvents,
  ) {
    this.publishChannel = channels.publish;
    this.consumeChannel = channels.consume;
    this.replyChannel = channels.reply;
    const { logger, counters } = context;
    const where = describeHost(host);
    model.on('error', (error: Error) => logger.warn({ host: where, error: error.message }, 'connection error'));
    model.on('blocked', (reason: string) => logger.warn({ host: where, reason }, 'broker blocked publishing (resource alarm)'));
    model.on('unblocked', () => logger.info({ host: where }, 'broker unblocked publishing'));
    model.on('close', (error?: Error) => {
      this.closed = true;
      if (!this.closing) events.lost(new ConnectionError(error?.message ?? `${where} closed the connection`, { cause: error }));
    });
    for (const channel of [channels.publish, channels.consume, channels.reply]) {
      channel.on('error', (error: Error) => logger.warn({ host: where, error: error.message }, 'channel error'));
      // A channel the server closed (for example a redeclared exchange of another type) leaves the connection
      // half-usable: drop it all and reconnect, which redeclares everything.
      channel.on('close', () => {
        this.closed = true;
        if (!this.closing) void model.close().catch(() => undefined);
      });
    }
    for (const channel of [channels.publish, channels.reply]) {
      channel.on('return', (returned: ConsumeMessage) => {
        counters.increment('connector.amqp.unroutable');
        logger.warn({ exchange: returned.fields.exchange, routingKey: returned.fields.routingKey }, 'message returned: no queue receives it (node or reply queue gone)');
      });
    }
  }

  get open(): boolean {
    return !this.closed && !this.closing;
  }

  async subscribe(route: SubscribeRoute, deliver: Deliver): Promise<() => void> {
    const acknowledged = route.kind !== 'reply';
    const channel = acknowledged ? this.consumeChannel : this.replyChannel;
    let queue: string;
    if (route.kind === 'reply') {
      queue = (await channel.assertQueue(route.replyTo, PRIVATE_QUEUE_OPTIONS)).queue;
    } else {
      this.prefetched ??= channel.prefetch(this.options.prefetch);
      await Promise.all([this.declareExchanges(route.collective), this.prefetched]);
      queue = (await channel.assertQueue('', PRIVATE_QUEUE_OPTIONS)).queue;
      const exchange = route.kind === 'broadcast' ? broadcastExchange(route.collective) : directedExchange(route.collective);
      await channel.bindQueue(queue, exchange, route.kind === 'broadcast' ? route.agent : route.identity);
    }
    const { consumerTag } = await channel.consume(queue, (delivery) => this.receive(acknowledged ? channel : undefined, delivery, deliver, queue), { noAck: !acknowledged, exclusive: true });
    // The auto-delete queue disappears with its only consumer.
    return () => void channel.cancel(consumerTag).catch((error: Error) => this.context.logger.debug({ error: error.message }, 'cancel failed'));
  }

  async publish(message: OutboundMessage, _timeoutMs: number): Promise<void> {
    const { route } = message;
    if (!this.open) throw new ConnectionError(`the connection to ${describeHost(this.host)} is closed`);
    let exchange = '';
    let routingKey: string;
    if (route.kind === 'reply') {
      routingKey = route.replyTo;
    } else {
      await this.declareExchanges(route.collective);
      exchange = route.kind === 'broadcast' ? broadcastExchange(route.collective) : directedExchange(route.collective);
      routingKey = route.kind === 'broadcast' ? route.agent : route.node;
    }
    const properties = publishProperties({
      identity: message.sender,
      ttl: message.ttl,
      graceSeconds: this.options.ttlGraceSeconds,
      replyTo: message.replyTo,
      // A directed request or reply nobody receives is worth a warning; a broadcast nobody hosts is normal.
      mandatory: route.kind !== 'broadcast',
    });
    if (route.kind === 'reply') {
      await this.publishUnconfirmed(routingKey, message.body, properties);
      return;
    }
    try {
      await new Promise<void>((resolve, reject) => {
        this.publishChannel.publish(exchange, routingKey, message.body, properties, (error: unknown) => (error ? reject(error) : resolve()));
      });
    } catch (error) {
      const text = error instanceof Error ? error.message : String(error);
      if (/nacked/.test(text)) throw new PublishError(`broker refused (nack) the message to ${exchange || '(default)'}/${routingKey}`, { cause: error });
      throw new ConnectionError(`not confirmed by ${describeHost(this.host)}: ${text}`, { cause: error });
    }
  }

  /** A reply: written to the reply channel without a confirm; waits only while the socket's buffer is full. */
  private async publishUnconfirmed(routingKey: string, body: Buffer, properties: Options.Publish): Promise<void> {
    let written: boolean;
    try {
      written = this.replyChannel.publish('', routingKey, body, properties);
    } catch (error) {
      // The channel closed under us: a lost connection, which the base answers by sending again after reconnecting.
      throw new ConnectionError(`cannot write a reply to ${describeHost(this.host)}: ${(error as Error).message}`, { cause: error });
    }
    if (written) return;
    await new Promise<void>((resolve, reject) => {
      const onDrain = () => { this.replyChannel.off('close', onClose); resolve(); };
      const onClose = () => { this.replyChannel.off('drain', onDrain); reject(new ConnectionError(`the connection to ${describeHost(this.host)} closed while a reply waited to be written`)); };
      this.replyChannel.once('drain', onDrain);
      this.replyChannel.once('close', onClose);
    });
  }

  async close(flushTimeoutMs: number): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.publishChannel.waitForConfirms().catch(() => undefined),
      new Promise((resolve) => (timer = setTimeout(resolve, Math.min(flushTimeoutMs, 5000)))),
    ]);
    clearTimeout(timer);
    await this.model.close().catch((error: Error) => this.context.logger.debug({ error: error.message }, 'close failed'));
  }

  /** Declares `<collective>_broadcast` (topic) and `<collective>_directed` (direct) once per connection. */
  private declareExchanges(collective: string): Promise<void> {
    let declared = this.declared.get(collective);
    if (!declared) {
      declared = Promise.all([
        this.publishChannel.assertExchange(broadcastExchange(collective), 'topic', EXCHANGE_OPTIONS),
        this.publishChannel.assertExchange(directedExchange(collective), 'direct', EXCHANGE_OPTIONS),
      ]).then(() => undefined);
      declared.catch(() => this.declared.delete(collective));
      this.declared.set(collective, declared);
    }
    return declared;
  }

  /** Hands a delivery to the base; on an acknowledging `channel`, acknowledges it once the handler settled. */
  private receive(channel: Channel | undefined, delivery: ConsumeMessage | null, deliver: Deliver, queue: string): void {
    if (delivery === null) {
      this.context.counters.increment('connector.amqp.consumer_cancelled');
      this.context.logger.warn({ queue }, 'the broker cancelled the subscription (queue deleted)');
      return;
    }
    const { message, expiresAt } = parseDelivery(delivery);
    const handled = deliver(message, expiresAt);
    if (!channel) return;
    void handled.then(() => {
      try {
        channel.ack(delivery);
      } catch {
        // The channel died meanwhile; its deliveries are gone with it.
      }
    });
  }
}
