/**
 * The STOMP connector core, shared by the `activemq` and `rabbitmq` connectors (the dialect does
 * the naming). Resilience: failover across the pool with back-off (plugins/connector/pool),
 * heartbeats, automatic resubscription after a reconnect (the connector reports `connected` only
 * once every subscription is back), and publishes that wait up to `publish_timeout` for a
 * connection and are confirmed by a broker RECEIPT, or fail with PublishError; never dropped silently.
 */
import { EventEmitter } from 'node:events';
import type { IMessage } from '@stomp/stompjs';
import { ConfigError, ConnectionError, InvalidArgumentError, PublishError } from '../../../src/errors.js';
import type {
  Connector, ConnectorEvents, ConnectorState, MessageHandler, PublishRequest, ReplySubscription, Subscription,
} from '../../../src/inter/connector.js';
import type { Counters, Logger } from '../../../src/inter/logger.js';
import { HostRotation, connectWithFailover, describeHost } from '../pool/failover.js';
import { ReadyGate } from '../pool/gate.js';
import type { BrokerConnectorInit, PoolHost } from '../pool/options.js';
import { checkBody, checkHandler, checkName, checkPublishRequest, checkReplyTo, checkTtl, guardArguments } from '../common/arguments.js';
import type { StompDialect, SubscribeTarget } from './dialect.js';
import { Dispatcher } from './dispatch.js';
import type { StompOptions } from './options.js';
import { StompSession } from './session.js';

/** What a StompConnector is built from. */
export interface StompConnectorInit extends BrokerConnectorInit {
  options: StompOptions;
  dialect: StompDialect;
}

/** One subscription, kept across reconnects until unsubscribed. */
interface LiveSubscription {
  readonly collective: string;
  /** The SUBSCRIBE to (re)issue; absent for implicit subscriptions (RabbitMQ /temp-queue). */
  readonly target?: SubscribeTarget;
  /** The `subscription` header of implicit deliveries. */
  readonly implicitKey?: string;
  readonly dispatcher: Dispatcher;
  /** The id on the current session, when subscribed there. */
  stompId?: string;
  session?: StompSession;
}

let replySequence = 0;

/** A Connector speaking STOMP to ActiveMQ or RabbitMQ. */
export class StompConnector implements Connector {
  readonly name: string;
  private currentState: ConnectorState = 'disconnected';
  private session: StompSession | undefined;
  private connecting: Promise<void> | undefined;
  private abort = new AbortController();
  private readonly events = new EventEmitter();
  private readonly subscriptions = new Set<LiveSubscription>();
  private readonly gate = new ReadyGate();
  private readonly rotation: HostRotation | undefined;
  private readonly options: StompOptions;
  private readonly dialect: StompDialect;
  private readonly problems: string[];
  private readonly identity: string;
  private readonly logger: Logger;
  private readonly counters: Counters;
  private readonly counterPrefix: string;

  constructor(init: StompConnectorInit) {
    this.options = init.options;
    this.dialect = init.dialect;
    this.name = init.dialect.flavor;
    this.counterPrefix = `connector.${this.name}`;
    this.problems = [...(init.configProblems ?? [])];
    try {
      this.identity = checkName('identity', init.identity);
    } catch (error) {
      this.problems.push((error as Error).message);
      this.identity = String(init.identity);
    }
    this.rotation = this.options.hosts.length > 0 ? new HostRotation(this.options.hosts, this.options.randomize) : undefined;
    this.logger = init.logger.child({ connector: this.name, identity: this.identity });
    this.counters = init.counters;
    for (const warning of init.configWarnings ?? []) this.logger.warn({ setting: warning }, 'configuration adjusted');
    this.events.setMaxListeners(100);
  }

  /** The connector's state. */
  get state(): ConnectorState {
    return this.currentState;
  }

  /** The broker currently connected to, if any. */
  get connectedHost(): string | undefined {
    return this.session?.open ? describeHost(this.session.host) : undefined;
  }

  /** Every configuration problem at once. */
  validate(): string[] {
    return [...this.problems];
  }

  /**
   * Connects to the first pool host that accepts (failing over with back-off) and restores every
   * subscription. Rejects with ConfigError when misconfigured, ConnectionError when out of attempts.
   */
  async connect(): Promise<void> {
    if (this.currentState === 'closed') throw new ConnectionError(`${this.name} connector is closed; create a new one`);
    if (this.problems.length > 0) throw new ConfigError(this.problems);
    if (this.currentState === 'connected') return;
    if (this.connecting) return this.connecting;
    this.setState('connecting');
    this.gate.shut();
    this.connecting = this.establish('connect').finally(() => (this.connecting = undefined));
    return this.connecting;
  }

  /** Flushes publishes awaiting their receipt (up to publish_timeout), then closes; later publishes fail. */
  async disconnect(): Promise<void> {
    if (this.currentState === 'closed') return;
    this.setState('closed');
    this.abort.abort();
    this.gate.fail(new PublishError(`${this.name} connector closed`));
    for (const subscription of this.subscriptions) subscription.dispatcher.stop();
    this.subscriptions.clear();
    const session = this.session;
    this.session = undefined;
    await session?.close(this.options.publishTimeoutMs);
    this.logger.info({}, 'disconnected');
  }

  /** Requests for `agent` broadcast in `collective`. */
  async subscribeBroadcast(collective: string, agent: string, handler: MessageHandler): Promise<Subscription> {
    this.guard(() => {
      checkName('collective', collective);
      checkName('agent', agent);
      checkHandler('handler', handler);
    });
    return this.subscribe(collective, { target: this.dialect.broadcastSubscription(collective, agent) }, handler);
  }

  /** Requests directed at `identity` in `collective`, for any agent. */
  async subscribeDirected(collective: string, identity: string, handler: MessageHandler): Promise<Subscription> {
    this.guard(() => {
      checkName('collective', collective);
      checkName('identity', identity);
      checkHandler('handler', handler);
    });
    return this.subscribe(collective, { target: this.dialect.directedSubscription(collective, identity) }, handler);
  }

  /** A private reply destination for this client. */
  async subscribeReplies(collective: string, handler: MessageHandler): Promise<ReplySubscription> {
    this.guard(() => {
      checkName('collective', collective);
      checkHandler('handler', handler);
    });
    const reply = this.dialect.replyTarget(collective, this.identity, ++replySequence);
    const subscription = await this.subscribe(
      collective,
      reply.subscribe ? { target: reply.subscribe } : { implicitKey: reply.implicitSubscription ?? reply.replyTo },
      handler,
    );
    return { replyTo: reply.replyTo, unsubscribe: () => subscription.unsubscribe() };
  }

  /** Publishes a broadcast request, or a directed one when `request.node` is set. */
  async publishRequest(request: PublishRequest): Promise<void> {
    this.guard(() => checkPublishRequest(request));
    const target = request.node === undefined
      ? this.dialect.broadcastSend(request.collective, request.agent)
      : this.dialect.directedSend(request.collective, request.agent, request.node);
    const headers: Record<string, string> = { ...target.headers };
    if (request.replyTo !== undefined) headers['reply-to'] = request.replyTo;
    await this.send(target.destination, headers, request.body, request.ttl, request.collective);
  }

  /** Publishes a reply to a request's `reply-to`. */
  async publishReply(replyTo: string, body: Uint8Array, ttl: number): Promise<void> {
    this.guard(() => {
      checkReplyTo('replyTo', replyTo);
      const problem = this.dialect.checkReplyTo(replyTo);
      if (problem !== undefined) throw new InvalidArgumentError(`replyTo ${JSON.stringify(replyTo)} is not usable: ${problem}`);
      checkBody('body', body);
      checkTtl('ttl', ttl);
    });
    await this.send(replyTo, {}, body, ttl, undefined);
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

  /** Runs the failover loop until a session is up with every subscription restored. */
  private async establish(reason: 'connect' | 'reconnect'): Promise<void> {
    const signal = this.abort.signal;
    try {
      const { connection, host, attempts } = await connectWithFailover({
        rotation: this.rotation!,
        policy: this.options.reconnect,
        signal,
        connect: (candidate, attemptSignal) => this.openAndRestore(candidate, attemptSignal),
        onAttemptFailed: (candidate, error, attempt, nextDelayMs) => {
          this.counters.increment(`${this.counterPrefix}.connect_failed`);
          this.logger.warn(
            { host: describeHost(candidate), attempt, error: error.message, retryInMs: nextDelayMs ?? null },
            nextDelayMs === undefined ? 'connection attempt failed; giving up' : 'connection attempt failed',
          );
        },
      });
      if (this.currentState === 'closed') {
        await connection.close(0);
        return;
      }
      this.session = connection;
      this.setState('connected', { host: describeHost(host) });
      this.gate.openGate();
      if (reason === 'reconnect') this.counters.increment(`${this.counterPrefix}.reconnected`);
      this.logger.info({ host: describeHost(host), attempts, subscriptions: this.subscriptions.size }, reason === 'connect' ? 'connected' : 'reconnected and resubscribed');
    } catch (error) {
      if (this.currentState === 'closed') throw new ConnectionError(`${this.name} connector closed while connecting`, { cause: error });
      const failure = error instanceof ConnectionError ? error : new ConnectionError((error as Error).message, { cause: error });
      this.setState('disconnected', { error: failure });
      // Publishes waiting for this connection fail now instead of at their timeout.
      this.gate.fail(failure);
      this.logger.error({ error: failure.message }, 'could not connect to any broker of the pool');
      throw failure;
    }
  }

  /** One attempt: a session on `host` with every collective prepared and every subscription back. */
  private async openAndRestore(host: PoolHost, signal: AbortSignal): Promise<StompSession> {
    this.dialect.forgetPrepared?.();
    const session = await StompSession.open(host, this.options, {
      onLost: (error) => this.lost(session, error),
      onUnhandledMessage: (message) => this.routeImplicit(message),
    }, signal);
    try {
      const collectives = new Set([...this.subscriptions].map((s) => s.collective));
      for (const collective of collectives) await this.dialect.prepareCollective?.(host, collective);
      for (const subscription of this.subscriptions) {
        if (subscription.target) await this.attach(subscription, session);
      }
      return session;
    } catch (error) {
      await session.close(0);
      throw error;
    }
  }

  /** The session ended under us: reconnect in the background, keeping every subscription. */
  private lost(session: StompSession, error: ConnectionError): void {
    if (this.session !== session || this.currentState === 'closed') return;
    this.session = undefined;
    this.gate.shut();
    for (const subscription of this.subscriptions) {
      delete subscription.stompId;
      delete subscription.session;
    }
    this.counters.increment(`${this.counterPrefix}.connection_lost`);
    this.logger.warn({ host: describeHost(session.host), error: error.message }, 'connection lost; reconnecting');
    this.setState('reconnecting', { host: describeHost(session.host), error });
    this.connecting = this.establish('reconnect').finally(() => (this.connecting = undefined));
    // Failure is already logged, counted and reported as state 'disconnected'.
    this.connecting.catch(() => {});
  }

  // ---- subscriptions ---------------------------------------------------------------------

  private async subscribe(collective: string, where: { target?: SubscribeTarget; implicitKey?: string }, handler: MessageHandler): Promise<Subscription> {
    if (this.currentState === 'closed') throw new ConnectionError(`${this.name} connector is closed`);
    const destination = where.target?.destination ?? where.implicitKey ?? '?';
    const subscription: LiveSubscription = {
      collective,
      ...where,
      dispatcher: new Dispatcher(destination, handler, {
        counterPrefix: this.counterPrefix,
        counters: this.counters,
        logger: this.logger,
        expiresAt: (headers) => this.dialect.expiresAt(headers),
      }),
    };
    this.subscriptions.add(subscription);
    const session = this.session;
    if (session?.open && subscription.target) {
      try {
        await this.dialect.prepareCollective?.(session.host, collective);
        await this.attach(subscription, session);
      } catch (error) {
        // Lost meanwhile: the reconnect restores the subscription. Still connected: a real refusal.
        if (this.session === session && session.open) {
          this.subscriptions.delete(subscription);
          subscription.dispatcher.stop();
          this.counters.increment(`${this.counterPrefix}.subscribe_failed`);
          this.logger.error({ destination, error: (error as Error).message }, 'subscribe failed');
          throw error instanceof ConnectionError ? error : new ConnectionError(`subscribe to ${destination} failed: ${(error as Error).message}`, { cause: error });
        }
      }
    }
    this.logger.debug({ destination }, 'subscribed');
    return {
      unsubscribe: async () => {
        if (!this.subscriptions.delete(subscription)) return;
        subscription.dispatcher.stop();
        if (subscription.stompId && subscription.session) subscription.session.unsubscribe(subscription.stompId);
        this.logger.debug({ destination }, 'unsubscribed');
      },
    };
  }

  private async attach(subscription: LiveSubscription, session: StompSession): Promise<void> {
    const target = subscription.target!;
    const id = await session.subscribe(target.destination, target.headers, (message) => subscription.dispatcher.deliver(message), this.options.connectTimeoutMs);
    if (!this.subscriptions.has(subscription)) {
      session.unsubscribe(id);
      return;
    }
    subscription.stompId = id;
    subscription.session = session;
  }

  /** Delivers a MESSAGE that no explicit subscription claims (RabbitMQ /temp-queue replies). */
  private routeImplicit(message: IMessage): void {
    const key = message.headers.subscription;
    for (const subscription of this.subscriptions) {
      if (subscription.implicitKey !== undefined && subscription.implicitKey === key) {
        subscription.dispatcher.deliver(message);
        return;
      }
    }
    this.counters.increment(`${this.counterPrefix}.inbound_unroutable`);
    this.logger.warn({ subscription: key ?? null, destination: message.headers.destination ?? null }, 'dropped a message for no known subscription');
  }

  // ---- publishing --------------------------------------------------------------------------

  private async send(destination: string, extraHeaders: Record<string, string>, body: Uint8Array, ttl: number, collective: string | undefined): Promise<void> {
    const what = `to ${destination}`;
    try {
      if (this.currentState === 'closed') throw new PublishError(`cannot publish ${what}: ${this.name} connector is closed`);
      const deadline = Date.now() + this.options.publishTimeoutMs;
      await this.gate.wait(this.options.publishTimeoutMs, what);
      const session = this.session;
      if (!session?.open) throw new PublishError(`cannot publish ${what}: not connected`);
      if (collective !== undefined) await this.dialect.prepareCollective?.(session.host, collective);
      const headers = { ...extraHeaders, ...this.dialect.ttlHeaders(ttl, Date.now()), mc_sender: this.identity };
      await session.send(destination, headers, body, Math.max(1000, deadline - Date.now()));
      this.counters.increment(`${this.counterPrefix}.published`);
    } catch (error) {
      this.counters.increment(`${this.counterPrefix}.publish_failed`);
      this.logger.warn({ destination, error: (error as Error).message }, 'publish failed');
      throw error instanceof PublishError ? error : new PublishError(`cannot publish ${what}: ${(error as Error).message}`, { cause: error });
    }
  }

  // ---- helpers -----------------------------------------------------------------------------

  private setState(state: ConnectorState, detail: { host?: string; error?: Error } = {}): void {
    this.currentState = state;
    this.events.emit('state', state, detail);
  }

  /** Runs argument checks; a failure is counted, logged and rethrown. */
  private guard(check: () => void): void {
    guardArguments(check, this.counters, this.logger, this.counterPrefix);
  }
}
