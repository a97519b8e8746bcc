/**
 * The AMQP 0-9-1 connector (`connector = amqp`), over amqplib. Layout as MCollective's rabbitmq
 * connector (see topology.ts). Connection handling:
 * - connects to the first pool host that accepts, with MCollective's back-off between attempts
 *   (plugins/connector/pool); after losing the connection it reconnects the same way, declares its
 *   queues again and re-binds every subscription before reporting `connected`;
 * - every publish goes through a ConfirmChannel and resolves only once the broker confirmed it; a
 *   publish made while disconnected, or cut off by a connection loss before its confirm, waits for the
 *   reconnection and is sent again, for at most `publish_timeout` in total, then fails with PublishError
 *   (at-least-once: a message confirmed-but-unacknowledged on a dying connection can arrive twice);
 * - messages of one subscription reach its handler one at a time (acknowledged after the handler
 *   settles, `prefetch` unacknowledged at most); a message past its `mc_expires` is dropped and counted.
 */
import { EventEmitter } from 'node:events';
import type { Channel, ChannelModel, ConfirmChannel, ConsumeMessage } from 'amqplib';
import { ConfigError, ConnectionError, PublishError } from '../../../src/errors.js';
import type {
  Connector, ConnectorEvents, ConnectorState, MessageHandler, PublishRequest, ReplySubscription, Subscription,
} from '../../../src/inter/connector.js';
import type { Counters, Logger } from '../../../src/inter/logger.js';
import { checkBody, checkHandler, checkName, checkPublishRequest, checkReplyTo, checkTtl, guardArguments } from '../common/arguments.js';
import { HostRotation, abortableSleep, connectWithFailover, describeHost } from '../pool/failover.js';
import { ReadyGate } from '../pool/gate.js';
import type { BrokerConnectorInit, PoolHost } from '../pool/options.js';
import { openConnection } from './connection.js';
import type { AmqpOptions } from './options.js';
import { AmqpSubscription, type SubscriptionKind } from './subscription.js';
import { EXCHANGE_OPTIONS, broadcastExchange, directedExchange, publishProperties, replyQueueName } from './topology.js';

/** What an AmqpConnector is built from. */
export interface AmqpConnectorInit extends BrokerConnectorInit {
  options: AmqpOptions;
}

/** The per-connection state. */
interface Link {
  readonly model: ChannelModel;
  readonly host: PoolHost;
  readonly publishChannel: ConfirmChannel;
  readonly consumeChannel: Channel;
  /** Exchanges declared on this connection, by collective. */
  readonly declared: Map<string, Promise<void>>;
}

/** How long disconnect() waits for outstanding publisher confirms. */
const FLUSH_TIMEOUT_MS = 5000;

/** A Connector over AMQP 0-9-1 (RabbitMQ). */
export class AmqpConnector implements Connector {
  readonly name = 'amqp';
  private currentState: ConnectorState = 'disconnected';
  private link: Link | undefined;
  private readonly events = new EventEmitter();
  private readonly subscriptions = new Set<AmqpSubscription>();
  private readonly gate = new ReadyGate();
  private readonly shutdown = new AbortController();
  private readonly rotation: HostRotation | undefined;
  private readonly problems: string[];
  private readonly warnings: readonly string[];
  private readonly identity: string;
  private readonly options: AmqpOptions;
  private readonly logger: Logger;
  private readonly counters: Counters;
  private connecting: Promise<void> | undefined;

  constructor(init: AmqpConnectorInit) {
    this.options = init.options;
    this.problems = [...(init.configProblems ?? [])];
    this.warnings = init.configWarnings ?? [];
    try {
      this.identity = checkName('identity', init.identity);
    } catch (error) {
      this.problems.push((error as Error).message);
      this.identity = String(init.identity);
    }
    this.rotation = this.options.hosts.length > 0 ? new HostRotation(this.options.hosts, this.options.randomize) : undefined;
    if (!this.rotation) this.problems.push('plugin.amqp: no broker configured (url, host or pool.N.host)');
    this.logger = init.logger.child({ connector: 'amqp', identity: this.identity });
    this.counters = init.counters;
  }

  /** The connector's state. */
  get state(): ConnectorState {
    return this.currentState;
  }

  /** The broker of the current connection, `host:port`, or undefined when disconnected. */
  get connectedHost(): string | undefined {
    return this.link ? describeHost(this.link.host) : undefined;
  }

  /** Every configuration problem at once. */
  validate(): string[] {
    return [...this.problems];
  }

  /**
   * Connects to the first pool host that accepts (retrying with back-off up to
   * `max_reconnect_attempts`, forever when 0) and binds every subscription made so far.
   */
  async connect(): Promise<void> {
    if (this.currentState === 'closed') throw new ConnectionError('amqp connector is closed; create a new one');
    if (this.problems.length > 0) throw new ConfigError(this.problems);
    if (this.currentState === 'connected') return;
    if (this.connecting) return this.connecting;
    for (const warning of this.warnings) this.logger.warn({}, warning);
    this.setState('connecting');
    this.connecting = this.establish().finally(() => (this.connecting = undefined));
    try {
      await this.connecting;
    } catch (error) {
      if (this.state !== 'closed') this.setState('disconnected', error as Error);
      this.counters.increment('connector.amqp.connect_failed');
      this.logger.error({ error: (error as Error).message }, 'could not connect to any broker');
      throw error;
    }
  }

  /** Waits (bounded) for outstanding publisher confirms, then closes the connection. */
  async disconnect(): Promise<void> {
    if (this.currentState === 'closed') return;
    this.setState('closed');
    this.shutdown.abort();
    this.gate.fail(new PublishError('amqp connector closed'));
    const subscriptions = [...this.subscriptions];
    this.subscriptions.clear();
    await Promise.all(subscriptions.map((subscription) => subscription.cancel()));
    const link = this.link;
    this.link = undefined;
    if (!link) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      link.publishChannel.waitForConfirms().catch(() => undefined),
      new Promise((resolve) => (timer = setTimeout(resolve, FLUSH_TIMEOUT_MS))),
    ]);
    clearTimeout(timer);
    await link.model.close().catch((error: Error) => this.logger.debug({ error: error.message }, 'close after disconnect failed'));
  }

  /** Requests for `agent` broadcast in `collective` (a private queue bound to `<collective>_broadcast` with key `agent`). */
  async subscribeBroadcast(collective: string, agent: string, handler: MessageHandler): Promise<Subscription> {
    this.guard(() => {
      checkName('collective', collective);
      checkName('agent', agent);
      checkHandler('handler', handler);
    });
    return this.subscribe('broadcast', collective, agent, handler);
  }

  /** Requests directed at `identity` (a private queue bound to `<collective>_directed` with key `identity`). */
  async subscribeDirected(collective: string, identity: string, handler: MessageHandler): Promise<Subscription> {
    this.guard(() => {
      checkName('collective', collective);
      checkName('identity', identity);
      checkHandler('handler', handler);
    });
    return this.subscribe('directed', collective, identity, handler);
  }

  /** An exclusive reply queue; its name is the reply-to and stays the same across reconnects. */
  async subscribeReplies(collective: string, handler: MessageHandler): Promise<ReplySubscription> {
    this.guard(() => {
      checkName('collective', collective);
      checkHandler('handler', handler);
    });
    const replyTo = replyQueueName(collective, this.identity);
    const subscription = await this.subscribe('reply', collective, replyTo, handler);
    return { replyTo, unsubscribe: () => subscription.unsubscribe() };
  }

  /** Publishes a broadcast (to `<collective>_broadcast`, key agent) or directed (to `<collective>_directed`, key node) request. */
  async publishRequest(request: PublishRequest): Promise<void> {
    this.guard(() => checkPublishRequest(request));
    const directed = request.node !== undefined;
    const exchange = directed ? directedExchange(request.collective) : broadcastExchange(request.collective);
    const routingKey = directed ? request.node! : request.agent;
    await this.publish({
      collective: request.collective,
      exchange,
      routingKey,
      body: request.body,
      ttl: request.ttl,
      replyTo: request.replyTo,
      // A directed request nobody receives is worth a warning; a broadcast nobody hosts is normal.
      mandatory: directed,
      what: `${directed ? 'directed' : 'broadcast'} request for ${request.agent} to ${exchange}/${routingKey}`,
    });
  }

  /** Publishes a reply to a reply queue (through the default exchange). */
  async publishReply(replyTo: string, body: Uint8Array, ttl: number): Promise<void> {
    this.guard(() => {
      checkReplyTo('replyTo', replyTo);
      checkBody('body', body);
      checkTtl('ttl', ttl);
    });
    await this.publish({ collective: undefined, exchange: '', routingKey: replyTo, body, ttl, replyTo: undefined, mandatory: true, what: `reply to ${replyTo}` });
  }

  /** Adds a listener. */
  on<E extends keyof ConnectorEvents>(event: E, listener: ConnectorEvents[E]): void {
    this.events.on(event, listener);
  }

  /** Removes a listener. */
  off<E extends keyof ConnectorEvents>(event: E, listener: ConnectorEvents[E]): void {
    this.events.off(event, listener);
  }

  // ---- connection lifecycle ----------------------------------------------------------------

  /** Connects (with failover and back-off) until a connection with every subscription bound is up. */
  private async establish(): Promise<void> {
    for (;;) {
      const result = await connectWithFailover<Link>({
        rotation: this.rotation!,
        policy: this.options.reconnect,
        signal: this.shutdown.signal,
        connect: (host, signal) => this.openLink(host, signal),
        onAttemptFailed: (host, error, attempt, nextDelayMs) => {
          this.counters.increment('connector.amqp.attempt_failed');
          this.logger.warn(
            { host: describeHost(host), attempt, retryInMs: nextDelayMs ?? null, error: error.message },
            nextDelayMs === undefined ? 'connection attempt failed; giving up' : 'connection attempt failed; retrying',
          );
        },
      });
      const link = result.connection;
      if (this.isClosed()) {
        await link.model.close().catch(() => undefined);
        throw new ConnectionError('amqp connector closed while connecting');
      }
      this.link = link;
      try {
        // Subscriptions made while openLink was finishing are bound here; later ones bind themselves.
        for (const subscription of [...this.subscriptions].filter((s) => s.channel !== link.consumeChannel)) await this.attach(link, subscription);
      } catch (error) {
        this.link = undefined;
        this.logger.warn({ host: describeHost(result.host), error: (error as Error).message }, 'resubscribing failed; connecting again');
        await link.model.close().catch(() => undefined);
        continue;
      }
      this.logger.info({ host: describeHost(result.host), attempts: result.attempts, subscriptions: this.subscriptions.size }, 'connected to broker');
      this.setState('connected', undefined, result.host);
      this.gate.openGate();
      return;
    }
  }

  /** One connection attempt: connect, open channels, re-bind every subscription. */
  private async openLink(host: PoolHost, signal: AbortSignal): Promise<Link> {
    const model = await openConnection(host, { options: this.options, identity: this.identity, signal });
    try {
      const publishChannel = await model.createConfirmChannel();
      const consumeChannel = await model.createChannel();
      const link: Link = { model, host, publishChannel, consumeChannel, declared: new Map() };
      model.on('error', (error: Error) => this.logger.warn({ host: describeHost(host), error: error.message }, 'connection error'));
      model.on('blocked', (reason: string) => this.logger.warn({ host: describeHost(host), reason }, 'broker blocked publishing (resource alarm)'));
      model.on('unblocked', () => this.logger.info({ host: describeHost(host) }, 'broker unblocked publishing'));
      model.on('close', (error?: Error) => this.linkLost(link, error));
      for (const channel of [publishChannel, consumeChannel]) {
        channel.on('error', (error: Error) => this.logger.warn({ error: error.message }, 'channel error'));
        // A channel the server closed (for example a redeclared exchange of another type) leaves the
        // connection half-usable: drop it all and reconnect, which redeclares everything.
        channel.on('close', () => {
          if (this.link === link) void model.close().catch(() => undefined);
        });
      }
      publishChannel.on('return', (returned: ConsumeMessage) => {
        this.counters.increment('connector.amqp.unroutable');
        this.logger.warn({ exchange: returned.fields.exchange, routingKey: returned.fields.routingKey }, 'message returned: no queue receives it (node or reply queue gone)');
      });
      await consumeChannel.prefetch(this.options.prefetch);
      for (const subscription of this.subscriptions) await this.attach(link, subscription);
      return link;
    } catch (error) {
      await model.close().catch(() => undefined);
      throw error;
    }
  }

  /** The connection closed: unless we closed it, reconnect and resubscribe. */
  private linkLost(link: Link, error: Error | undefined): void {
    if (this.link !== link || this.isClosed()) return;
    this.link = undefined;
    this.gate.shut();
    for (const subscription of this.subscriptions) subscription.detach();
    const reason = error ?? new ConnectionError('connection closed by the broker');
    this.counters.increment('connector.amqp.connection_lost');
    this.logger.warn({ host: describeHost(link.host), error: reason.message }, 'connection lost; reconnecting');
    this.setState('reconnecting', reason, link.host);
    this.connecting = this.establish()
      .then(() => {
        this.counters.increment('connector.amqp.reconnected');
      })
      .catch((failure: Error) => {
        if (this.isClosed()) return;
        this.gate.fail(failure);
        this.setState('disconnected', failure);
        this.logger.error({ error: failure.message }, 'could not reconnect to any broker; connector is down');
      })
      .finally(() => (this.connecting = undefined));
  }

  // ---- subscriptions -----------------------------------------------------------------------

  private async subscribe(kind: SubscriptionKind, collective: string, key: string, handler: MessageHandler): Promise<Subscription> {
    if (this.isClosed()) throw new ConnectionError('amqp connector is closed');
    const subscription = new AmqpSubscription(kind, collective, key, handler, this.counters, this.logger);
    this.subscriptions.add(subscription);
    const link = this.link;
    if (link) {
      try {
        await this.attach(link, subscription);
      } catch (error) {
        this.subscriptions.delete(subscription);
        await subscription.cancel();
        throw new ConnectionError(`cannot subscribe to ${subscription.describe()}: ${(error as Error).message}`, { cause: error });
      }
    }
    this.logger.debug({ subscription: subscription.describe() }, 'subscribed');
    return {
      unsubscribe: async () => {
        if (this.subscriptions.delete(subscription)) await subscription.cancel();
      },
    };
  }

  private attach(link: Link, subscription: AmqpSubscription): Promise<void> {
    return subscription.bind(link.consumeChannel, (collective) => this.declareExchanges(link, collective));
  }

  /** Declares `<collective>_broadcast` (topic) and `<collective>_directed` (direct) once per connection. */
  private declareExchanges(link: Link, collective: string): Promise<void> {
    let declared = link.declared.get(collective);
    if (!declared) {
      declared = (async () => {
        await link.publishChannel.assertExchange(broadcastExchange(collective), 'topic', EXCHANGE_OPTIONS);
        await link.publishChannel.assertExchange(directedExchange(collective), 'direct', EXCHANGE_OPTIONS);
      })();
      declared.catch(() => link.declared.delete(collective));
      link.declared.set(collective, declared);
    }
    return declared;
  }

  // ---- publishing ---------------------------------------------------------------------------

  private async publish(message: {
    collective: string | undefined;
    exchange: string;
    routingKey: string;
    body: Uint8Array;
    ttl: number;
    replyTo: string | undefined;
    mandatory: boolean;
    what: string;
  }): Promise<void> {
    if (this.isClosed()) throw this.publishFailed(message.what, new PublishError(`cannot publish ${message.what}: amqp connector is closed`));
    const deadline = Date.now() + this.options.publishTimeoutMs;
    // Copied once: the caller may reuse its buffer, and a resend must send the same bytes.
    const content = Buffer.from(message.body);
    for (let attempt = 1; ; attempt++) {
      try {
        await this.gate.wait(Math.max(0, deadline - Date.now()), message.what);
      } catch (error) {
        throw this.publishFailed(message.what, error as Error);
      }
      const link = this.link;
      if (!link) {
        await abortableSleep(10, this.shutdown.signal);
        continue;
      }
      try {
        if (message.collective !== undefined) await this.declareExchanges(link, message.collective);
        const properties = publishProperties({
          identity: this.identity,
          ttl: message.ttl,
          graceSeconds: this.options.ttlGraceSeconds,
          replyTo: message.replyTo,
          mandatory: message.mandatory,
        });
        await new Promise<void>((resolve, reject) => {
          link.publishChannel.publish(message.exchange, message.routingKey, content, properties, (error: unknown) => (error ? reject(error) : resolve()));
        });
        this.counters.increment('connector.amqp.published');
        return;
      } catch (error) {
        const text = error instanceof Error ? error.message : String(error);
        if (/nacked/.test(text)) {
          throw this.publishFailed(message.what, new PublishError(`broker refused (nack) ${message.what}`, { cause: error }));
        }
        if (this.isClosed() || Date.now() >= deadline) {
          throw this.publishFailed(message.what, new PublishError(`cannot publish ${message.what}: ${text}`, { cause: error }));
        }
        // The connection went away before the broker confirmed: wait for the reconnection and send again.
        this.counters.increment('connector.amqp.publish_retried');
        this.logger.warn({ what: message.what, attempt, error: text }, 'publish not confirmed (connection lost); resending after reconnect');
        if (this.link === link) await abortableSleep(Math.min(100, Math.max(0, deadline - Date.now())), this.shutdown.signal);
      }
    }
  }

  private publishFailed(what: string, error: Error): Error {
    this.counters.increment('connector.amqp.publish_failed');
    this.logger.warn({ what, error: error.message }, 'publish failed');
    return error instanceof PublishError ? error : new PublishError(`cannot publish ${what}: ${error.message}`, { cause: error });
  }

  // ---- helpers --------------------------------------------------------------------------------

  /** Whether disconnect() ran (a method, so TypeScript does not narrow it away across awaits). */
  private isClosed(): boolean {
    return this.currentState === 'closed';
  }

  private setState(state: ConnectorState, error?: Error, host?: PoolHost): void {
    this.currentState = state;
    const detail: { host?: string; error?: Error } = {};
    if (host) detail.host = describeHost(host);
    if (error) detail.error = error;
    this.events.emit('state', state, detail);
  }

  /** Runs argument checks; a failure is counted, logged and rethrown. */
  private guard(check: () => void): void {
    guardArguments(check, this.counters, this.logger, 'connector.amqp');
  }
}
