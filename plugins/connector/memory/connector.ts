/**
 * The memory connector: a Connector over a MemoryBroker, for tests, demos and single-process setups.
 * It behaves like the broker connectors: subscriptions survive a broker outage (the connector waits for
 * the broker, reconnects and binds them again before reporting `connected`), publishes made while
 * disconnected wait up to `publish_timeout` and then fail with PublishError, and every message carries
 * `mc_sender` and an expiry of TTL + `ttl_grace`.
 */
import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import { ConfigError, ConnectionError, InvalidArgumentError, PublishError } from '../../../src/errors.js';
import type {
  Connector, ConnectorEvents, ConnectorState, InboundMessage, MessageHandler, PublishRequest, ReplySubscription, Subscription,
} from '../../../src/inter/connector.js';
import type { Counters, Logger } from '../../../src/inter/logger.js';
import { ReadyGate } from '../pool/gate.js';
import { checkBody, checkHandler, checkName, checkPublishRequest, checkReplyTo, checkTtl, guardArguments } from '../common/arguments.js';
import {
  MemoryBroker, type MemoryDeliver, type MemoryEnvelope, type MemorySession, broadcastDestination, directedDestination, isReplyDestination,
} from './broker.js';
import { DEFAULT_MEMORY_OPTIONS, type MemoryOptions, validateMemoryOptions } from './options.js';

/** What a MemoryConnector is built from. */
export interface MemoryConnectorInit {
  /** This node's identity, sent as `mc_sender`. */
  identity: string;
  logger: Logger;
  counters: Counters;
  options?: Partial<MemoryOptions>;
  /** A specific broker instance (isolated tests); otherwise `MemoryBroker.named(options.broker)`. */
  broker?: MemoryBroker;
  /** Problems found while reading the configuration; validate() reports them and connect() refuses. */
  configProblems?: readonly string[];
}

interface ActiveSubscription {
  readonly destination: string;
  readonly deliver: MemoryDeliver;
  unbind?: () => void;
}

let replySequence = 0;

/** A Connector over an in-process MemoryBroker. */
export class MemoryConnector implements Connector {
  readonly name = 'memory';
  private currentState: ConnectorState = 'disconnected';
  private session: MemorySession | undefined;
  private readonly events = new EventEmitter();
  private readonly subscriptions = new Set<ActiveSubscription>();
  private readonly gate = new ReadyGate();
  private readonly options: MemoryOptions;
  private readonly problems: string[];
  private readonly identity: string;
  private readonly logger: Logger;
  private readonly counters: Counters;
  private brokerInstance: MemoryBroker | undefined;

  constructor(init: MemoryConnectorInit) {
    this.options = { ...DEFAULT_MEMORY_OPTIONS, ...init.options };
    this.problems = [...(init.configProblems ?? []), ...validateMemoryOptions(this.options)];
    try {
      this.identity = checkName('identity', init.identity);
    } catch (error) {
      this.problems.push((error as Error).message);
      this.identity = String(init.identity);
    }
    this.brokerInstance = init.broker;
    this.logger = init.logger.child({ connector: 'memory', identity: this.identity });
    this.counters = init.counters;
    // Emitting 'error' on an EventEmitter without listeners throws; state events never use it.
    this.events.setMaxListeners(100);
  }

  /** The connector's state. */
  get state(): ConnectorState {
    return this.currentState;
  }

  /** The broker this connector uses. */
  get broker(): MemoryBroker {
    this.brokerInstance ??= MemoryBroker.named(this.options.broker);
    return this.brokerInstance;
  }

  /** Every configuration problem at once. */
  validate(): string[] {
    return [...this.problems];
  }

  /** Joins the broker (waiting up to `connect_timeout` while it is stopped) and binds every subscription. */
  async connect(): Promise<void> {
    if (this.currentState === 'closed') throw new ConnectionError('memory connector is closed; create a new one');
    if (this.problems.length > 0) throw new ConfigError(this.problems);
    if (this.currentState === 'connected' || this.currentState === 'connecting') return;
    this.setState('connecting');
    const broker = this.broker;
    if (!broker.running) {
      let timer: NodeJS.Timeout | undefined;
      const ready = await Promise.race([
        broker.whenRunning().then(() => true),
        new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), this.options.connectTimeoutMs))),
      ]);
      clearTimeout(timer);
      // disconnect() may have run while we waited.
      const abandoned = this.state === 'closed';
      if (!ready || abandoned) {
        const error = abandoned
          ? new ConnectionError('memory connector closed while connecting')
          : new ConnectionError(`memory broker ${broker.name} did not start within ${this.options.connectTimeoutMs / 1000} s (connect_timeout)`);
        if (!abandoned) this.setState('disconnected', error);
        this.counters.increment('connector.memory.connect_failed');
        throw error;
      }
    }
    this.attach();
  }

  /** Ends the session; publishes still waiting for a connection fail with PublishError. */
  async disconnect(): Promise<void> {
    if (this.currentState === 'closed') return;
    this.gate.fail(new PublishError('memory connector closed'));
    for (const subscription of this.subscriptions) subscription.unbind?.();
    this.subscriptions.clear();
    this.session?.close();
    this.session = undefined;
    this.setState('closed');
  }

  /** Requests for `agent` broadcast in `collective`. */
  async subscribeBroadcast(collective: string, agent: string, handler: MessageHandler): Promise<Subscription> {
    this.guard(() => {
      checkName('collective', collective);
      checkName('agent', agent);
      checkHandler('handler', handler);
    });
    return this.subscribe(broadcastDestination(collective, agent), handler);
  }

  /** Requests directed at `identity` in `collective`. */
  async subscribeDirected(collective: string, identity: string, handler: MessageHandler): Promise<Subscription> {
    this.guard(() => {
      checkName('collective', collective);
      checkName('identity', identity);
      checkHandler('handler', handler);
    });
    return this.subscribe(directedDestination(collective, identity), handler);
  }

  /** A reply destination only this connector receives from. */
  async subscribeReplies(collective: string, handler: MessageHandler): Promise<ReplySubscription> {
    this.guard(() => {
      checkName('collective', collective);
      checkHandler('handler', handler);
    });
    replySequence += 1;
    const replyTo = `reply/${collective}/${this.identity}/${process.pid}/${replySequence}/${randomBytes(4).toString('hex')}`;
    const subscription = await this.subscribe(replyTo, handler);
    return { replyTo, unsubscribe: () => subscription.unsubscribe() };
  }

  /** Publishes a broadcast or directed request. */
  async publishRequest(request: PublishRequest): Promise<void> {
    this.guard(() => checkPublishRequest(request));
    const destination = request.node === undefined
      ? broadcastDestination(request.collective, request.agent)
      : directedDestination(request.collective, request.node);
    const headers: Record<string, string> = { agent: request.agent };
    if (request.replyTo !== undefined) headers['reply-to'] = request.replyTo;
    await this.send(destination, request.body, request.ttl, headers, request.replyTo);
  }

  /** Publishes a reply to a reply destination of this broker. */
  async publishReply(replyTo: string, body: Uint8Array, ttl: number): Promise<void> {
    this.guard(() => {
      checkReplyTo('replyTo', replyTo);
      if (!isReplyDestination(replyTo)) throw new InvalidArgumentError(`replyTo ${JSON.stringify(replyTo)} is not a memory reply destination (reply/...)`);
      checkBody('body', body);
      checkTtl('ttl', ttl);
    });
    await this.send(replyTo, body, ttl, {}, undefined);
  }

  /** Adds a listener. */
  on<E extends keyof ConnectorEvents>(event: E, listener: ConnectorEvents[E]): void {
    this.events.on(event, listener);
  }

  /** Removes a listener. */
  off<E extends keyof ConnectorEvents>(event: E, listener: ConnectorEvents[E]): void {
    this.events.off(event, listener);
  }

  private async send(destination: string, body: Uint8Array, ttl: number, headers: Record<string, string>, replyTo: string | undefined): Promise<void> {
    if (this.currentState === 'closed') throw this.publishFailed(destination, new PublishError(`cannot publish to ${destination}: memory connector is closed`));
    try {
      await this.gate.wait(this.options.publishTimeoutMs, `to ${destination}`);
    } catch (error) {
      throw this.publishFailed(destination, error as Error);
    }
    const session = this.session;
    if (!session?.isOpen) throw this.publishFailed(destination, new PublishError(`cannot publish to ${destination}: not connected`));
    const expiresAt = Date.now() + (ttl + this.options.ttlGraceSeconds) * 1000;
    const envelope: Omit<MemoryEnvelope, 'sender'> = {
      // The publisher may reuse its buffer once publish resolves, as with a socket write.
      body: body.slice(),
      headers: { ...headers, expires: String(expiresAt) },
      expiresAt,
    };
    if (replyTo !== undefined) envelope.replyTo = replyTo;
    session.publish(destination, envelope);
    this.counters.increment('connector.memory.published');
  }

  private publishFailed(destination: string, error: Error): Error {
    this.counters.increment('connector.memory.publish_failed');
    this.logger.warn({ destination, error: error.message }, 'publish failed');
    return error instanceof PublishError ? error : new PublishError(`cannot publish to ${destination}: ${error.message}`, { cause: error });
  }

  private async subscribe(destination: string, handler: MessageHandler): Promise<Subscription> {
    if (this.currentState === 'closed') throw new ConnectionError('memory connector is closed');
    const subscription: ActiveSubscription = { destination, deliver: (envelope) => this.dispatch(destination, envelope, handler) };
    if (this.session?.isOpen) subscription.unbind = this.session.bind(destination, subscription.deliver);
    this.subscriptions.add(subscription);
    this.logger.debug({ destination }, 'subscribed');
    return {
      unsubscribe: async () => {
        subscription.unbind?.();
        this.subscriptions.delete(subscription);
      },
    };
  }

  private async dispatch(destination: string, envelope: MemoryEnvelope, handler: MessageHandler): Promise<void> {
    this.counters.increment('connector.memory.received');
    const headers: Record<string, string> = { ...envelope.headers, destination, mc_sender: envelope.sender };
    const message: InboundMessage = { body: envelope.body.slice(), sender: envelope.sender, headers };
    if (envelope.replyTo !== undefined) message.replyTo = envelope.replyTo;
    try {
      await handler(message);
    } catch (error) {
      this.counters.increment('connector.memory.handler_errors');
      this.logger.error({ destination, error: error instanceof Error ? error.message : String(error) }, 'message handler failed');
    }
  }

  /** Opens a session and binds every subscription, then reports `connected`. */
  private attach(): void {
    const broker = this.broker;
    const session = broker.open(this.identity, (error) => this.lost(session, error));
    this.session = session;
    for (const subscription of this.subscriptions) subscription.unbind = session.bind(subscription.destination, subscription.deliver);
    this.setState('connected');
    this.gate.openGate();
  }

  /** The broker cut the session: wait for it to come back, then attach again. */
  private lost(session: MemorySession, error: ConnectionError): void {
    if (this.session !== session || this.currentState === 'closed') return;
    this.session = undefined;
    this.gate.shut();
    for (const subscription of this.subscriptions) delete subscription.unbind;
    this.counters.increment('connector.memory.connection_lost');
    this.logger.warn({ error: error.message }, 'connection to memory broker lost; waiting for it to return');
    this.setState('reconnecting', error);
    void this.reattach();
  }

  /** Waits for the broker to run and attaches again; loops if it stops again before the attach. */
  private async reattach(): Promise<void> {
    for (;;) {
      await this.broker.whenRunning();
      if (this.currentState !== 'reconnecting') return;
      try {
        this.attach();
        this.counters.increment('connector.memory.reconnected');
        this.logger.info({ subscriptions: this.subscriptions.size }, 'reconnected to memory broker and resubscribed');
        return;
      } catch (failure) {
        this.logger.warn({ error: (failure as Error).message }, 'memory broker stopped again before the reconnect completed');
      }
    }
  }

  private setState(state: ConnectorState, error?: Error): void {
    this.currentState = state;
    const detail: { host: string; error?: Error } = { host: `memory://${this.broker.name}` };
    if (error) detail.error = error;
    this.events.emit('state', state, detail);
  }

  /** Runs argument checks; a failure is counted, logged and rethrown. */
  private guard(check: () => void): void {
    guardArguments(check, this.counters, this.logger, 'connector.memory');
  }
}
