/**
 * The connector every broker shares (memory, amqp, activemq, rabbitmq): a Connector over a small per-broker
 * ConnectorDriver (driver.ts). It owns
 * - the state machine and its events (`connecting` → `connected`, `reconnecting` → `connected`, `disconnected`,
 *   `closed`);
 * - connecting with failover and back-off over the pool; for a client (role `client`) within its connect budget,
 *   stopping at once when every broker refused it for good, with a BrokerUnavailableError saying why;
 * - reconnecting after a loss, with every subscription restored before `connected` is reported again;
 * - the ready gate: publishes wait up to `publish_timeout` for a connection, and one cut off by a lost connection
 *   is sent again after the reconnection (resend.ts, at-least-once), else PublishError;
 * - argument checks, `max_message_size` on publish (MessageTooLargeError) and the counters and rate-limited log
 *   lines of inbound drops the drivers report (`oversize`, `inbound_unroutable`, `inbound_invalid`);
 * - the subscriptions, kept across reconnects (subscriptions.ts), each with serial delivery (dispatch.ts).
 */
import { EventEmitter } from 'node:events';
import { ConfigError, ConnectionError, InvalidArgumentError, MessageTooLargeError, PublishError } from '../../../src/errors.js';
import type {
  Connector, ConnectorEvents, ConnectorRole, ConnectorState, MessageHandler, PublishRequest, ReplySubscription, Subscription,
} from '../../../src/inter/connector.js';
import type { Counters, Logger } from '../../../src/inter/logger.js';
import { LogLimiter } from '../../../src/util/log-limiter.js';
import { HostRotation, connectWithFailover, describeHost } from '../pool/failover.js';
import { ReadyGate } from '../pool/gate.js';
import type { PoolHost } from '../pool/options.js';
import { checkBody, checkCarried, checkHandler, checkName, checkPublishRequest, checkReplyTo, checkTtl, guardArguments } from './arguments.js';
import {
  type ConnectorBaseInit, type ConnectorDriver, type DriverSession, type OutboundMessage, type PublishRoute, type SessionEvents, type SubscribeRoute,
  describeRoute,
} from './driver.js';
import { type ResendContext, publishWithResend } from './resend.js';
import { SubscriptionRegistry } from './subscriptions.js';

/** A Connector over a ConnectorDriver. */
export class BrokerConnector implements Connector {
  readonly name: string;
  /** This node's identity (checked; the raw value when it is a configuration problem). */
  protected readonly identity: string;
  protected readonly logger: Logger;
  protected readonly counters: Counters;
  /** Every configuration problem; subclasses may add theirs in their constructor. */
  protected readonly problems: string[];
  private readonly driver: ConnectorDriver;
  private readonly prefix: string;
  private readonly limited: LogLimiter;
  private readonly rotation: HostRotation | undefined;
  private readonly settings: ConnectorBaseInit;
  private readonly role: ConnectorRole;
  private warnings: readonly string[];
  private currentState: ConnectorState = 'disconnected';
  private session: DriverSession | undefined;
  private connecting: Promise<void> | undefined;
  private readonly abort = new AbortController();
  private readonly events = new EventEmitter();
  private readonly subscriptions: SubscriptionRegistry;
  private readonly gate = new ReadyGate();
  private readonly resendContext: ResendContext;

  constructor(init: ConnectorBaseInit) {
    this.settings = init;
    this.name = init.name;
    this.prefix = `connector.${init.name}`;
    this.driver = init.driver;
    this.role = init.role ?? 'daemon';
    this.problems = [...(init.configProblems ?? [])];
    this.warnings = init.configWarnings ?? [];
    try {
      this.identity = checkName('identity', init.identity);
      checkCarried(init.driver, init.name, 'identity', 'identity', this.identity);
    } catch (error) {
      this.problems.push((error as Error).message);
      this.identity = String(init.identity);
    }
    this.rotation = init.hosts.length > 0 ? new HostRotation(init.hosts, init.randomize) : undefined;
    this.logger = init.logger.child({ connector: init.name, identity: this.identity });
    this.counters = init.counters;
    this.limited = new LogLimiter(this.logger);
    this.subscriptions = new SubscriptionRegistry({ counterPrefix: this.prefix, counters: this.counters, log: this.limited, logger: this.logger });
    this.events.setMaxListeners(100);
    this.resendContext = {
      gate: this.gate, session: () => this.session, closed: () => this.isClosed(), signal: this.abort.signal,
      publishTimeoutMs: init.publishTimeoutMs, counterPrefix: this.prefix, counters: this.counters, logger: this.logger,
    };
  }

  /** The connector's state. */
  get state(): ConnectorState {
    return this.currentState;
  }

  /** The broker currently connected to (`host:port`), if any. */
  get connectedHost(): string | undefined {
    return this.session?.open ? this.hostName(this.session.host) : undefined;
  }

  /** Every configuration problem at once. */
  validate(): string[] {
    const problems = [...this.problems];
    if (!this.rotation && problems.length === 0) problems.push(`${this.name}: no broker configured`);
    return problems;
  }

  /**
   * Connects to the first pool host that accepts (failing over with back-off) and restores every subscription.
   * Rejects with ConfigError when misconfigured, BrokerUnavailableError when it gives up.
   */
  async connect(): Promise<void> {
    if (this.isClosed()) throw new ConnectionError(`${this.name} connector is closed; create a new one`);
    const problems = this.validate();
    if (problems.length > 0) throw new ConfigError(problems);
    if (this.currentState === 'connected') return;
    if (this.connecting) return this.connecting;
    for (const warning of this.warnings) this.logger.warn({ setting: warning }, 'configuration adjusted');
    this.warnings = [];
    this.setState('connecting');
    this.gate.shut();
    this.connecting = this.establish('connect').finally(() => (this.connecting = undefined));
    return this.connecting;
  }

  /** Flushes unconfirmed publishes (up to publish_timeout), then closes; later publishes fail. */
  async disconnect(): Promise<void> {
    if (this.isClosed()) return;
    this.setState('closed');
    this.abort.abort();
    this.gate.fail(new PublishError(`${this.name} connector closed`));
    this.subscriptions.clear();
    const session = this.session;
    this.session = undefined;
    await session?.close(this.settings.publishTimeoutMs);
    this.limited.close();
    this.logger.info({}, 'disconnected');
  }

  /** Requests for `agent` broadcast in `collective`. */
  async subscribeBroadcast(collective: string, agent: string, handler: MessageHandler): Promise<Subscription> {
    this.guard(() => {
      checkName('collective', collective);
      checkName('agent', agent);
      checkHandler('handler', handler);
      checkCarried(this.driver, this.name, 'collective', 'collective', collective);
    });
    return this.subscribe({ kind: 'broadcast', collective, agent }, handler);
  }

  /** Requests directed at `identity` in `collective`, for any agent. */
  async subscribeDirected(collective: string, identity: string, handler: MessageHandler): Promise<Subscription> {
    this.guard(() => {
      checkName('collective', collective);
      checkName('identity', identity);
      checkHandler('handler', handler);
      checkCarried(this.driver, this.name, 'collective', 'collective', collective);
      checkCarried(this.driver, this.name, 'identity', 'identity', identity);
    });
    return this.subscribe({ kind: 'directed', collective, identity }, handler);
  }

  /** A private reply destination for this client; its name survives reconnects. */
  async subscribeReplies(collective: string, handler: MessageHandler): Promise<ReplySubscription> {
    this.guard(() => {
      checkName('collective', collective);
      checkHandler('handler', handler);
      checkCarried(this.driver, this.name, 'collective', 'collective', collective);
    });
    const replyTo = this.driver.newReplyTo(collective, this.identity);
    const subscription = await this.subscribe({ kind: 'reply', collective, replyTo }, handler);
    return { replyTo, unsubscribe: () => subscription.unsubscribe() };
  }

  /** Publishes a broadcast request, or a directed one when `request.node` is set. */
  async publishRequest(request: PublishRequest): Promise<void> {
    this.guard(() => {
      checkPublishRequest(request);
      checkCarried(this.driver, this.name, 'collective', 'request.collective', request.collective);
      if (request.node !== undefined) checkCarried(this.driver, this.name, 'identity', 'request.node', request.node);
    });
    const route: PublishRoute = request.node === undefined
      ? { kind: 'broadcast', collective: request.collective, agent: request.agent }
      : { kind: 'directed', collective: request.collective, agent: request.agent, node: request.node };
    await this.publish(route, request.body, request.ttl, request.replyTo);
  }

  /** Publishes a reply to a request's reply destination. */
  async publishReply(replyTo: string, body: Uint8Array, ttl: number): Promise<void> {
    this.guard(() => {
      checkReplyTo('replyTo', replyTo);
      const problem = this.driver.checkReplyTo?.(replyTo);
      if (problem !== undefined) throw new InvalidArgumentError(`replyTo ${JSON.stringify(replyTo)} is not usable: ${problem}`);
      checkBody('body', body);
      checkTtl('ttl', ttl);
    });
    await this.publish({ kind: 'reply', replyTo }, body, ttl, undefined);
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
    const client = this.role === 'client';
    const budgetMs = Math.min(this.settings.connectTimeoutMs, this.settings.connectBudgetMs ?? Number.POSITIVE_INFINITY);
    try {
      for (;;) {
        const { connection: session, host, attempts } = await connectWithFailover({
          rotation: this.rotation!,
          policy: reason === 'connect' ? (this.settings.firstConnect ?? this.settings.reconnect) : this.settings.reconnect,
          signal: this.abort.signal,
          attemptTimeoutMs: this.settings.connectTimeoutMs,
          label: this.name,
          describeHost: (candidate) => this.hostName(candidate),
          ...(client ? { budgetMs, stopOnPermanentFailure: true } : {}),
          connect: (candidate, signal, timeoutMs) => this.openAndRestore(candidate, signal, timeoutMs ?? this.settings.connectTimeoutMs),
          onAttemptFailed: (candidate, error, attempt, nextDelayMs) => {
            this.counters.increment(`${this.prefix}.attempt_failed`);
            this.logger[client ? 'debug' : 'warn'](
              { host: this.hostName(candidate), attempt, error: error.message, retryInMs: nextDelayMs ?? null },
              nextDelayMs === undefined ? 'connection attempt failed; giving up' : 'connection attempt failed; retrying',
            );
          },
        });
        if (this.isClosed()) {
          await session.close(0);
          throw new ConnectionError(`${this.name} connector closed while connecting`);
        }
        try {
          // Subscriptions made while the session was being opened.
          await this.subscriptions.bindAll(session);
        } catch (error) {
          this.logger.warn({ host: this.hostName(host), error: (error as Error).message }, 'resubscribing failed; connecting again');
          await session.close(0);
          continue;
        }
        if (!session.open) continue;
        this.session = session;
        this.setState('connected', { host: this.hostName(host) });
        this.gate.openGate();
        if (reason === 'reconnect') this.counters.increment(`${this.prefix}.reconnected`);
        this.logger.info({ host: this.hostName(host), attempts, subscriptions: this.subscriptions.size }, reason === 'connect' ? 'connected' : 'reconnected and resubscribed');
        return;
      }
    } catch (error) {
      if (this.isClosed()) throw new ConnectionError(`${this.name} connector closed while connecting`, { cause: error });
      const failure = error instanceof ConnectionError ? error : new ConnectionError((error as Error).message, { cause: error });
      this.setState('disconnected', { error: failure });
      // Publishes waiting for this connection fail now instead of at their timeout.
      this.gate.fail(failure);
      this.counters.increment(`${this.prefix}.connect_failed`);
      this.logger[client ? 'debug' : 'error']({ error: failure.message }, 'could not connect to any broker of the pool');
      throw failure;
    }
  }

  /** One attempt: a session on `host` with every subscription bound. */
  private async openAndRestore(host: PoolHost, signal: AbortSignal, timeoutMs: number): Promise<DriverSession> {
    const holder: { session?: DriverSession } = {};
    const session = await this.driver.open(host, { signal, timeoutMs, maxMessageSize: this.settings.maxMessageSize, events: this.sessionEvents(holder) });
    holder.session = session;
    try {
      await this.subscriptions.bindAll(session);
      return session;
    } catch (error) {
      await session.close(0);
      throw error;
    }
  }

  /** The callbacks of a session: losses start a reconnection; drops are counted and logged (rate-limited). */
  private sessionEvents(holder: { session?: DriverSession }): SessionEvents {
    const host = (): string | null => (holder.session ? this.hostName(holder.session.host) : null);
    return {
      lost: (error) => {
        if (holder.session) this.lost(holder.session, error);
      },
      oversize: (report) => {
        this.counters.increment(`${this.prefix}.oversize`);
        this.limited.log('warn', 'oversize', { host: host(), from: report.where, bytes: report.bytes ?? null, limit: this.settings.maxMessageSize },
          `dropped an inbound message larger than max_message_size (${this.settings.maxMessageSize} bytes) without buffering it`);
      },
      unroutable: (detail) => {
        this.counters.increment(`${this.prefix}.inbound_unroutable`);
        this.limited.log('warn', 'unroutable', { host: host(), ...detail }, 'dropped a message for no known subscription');
      },
      malformed: (problem) => {
        this.counters.increment(`${this.prefix}.inbound_invalid`);
        this.limited.log('warn', 'malformed', { host: host(), problem }, 'dropped the connection after a malformed inbound frame');
      },
    };
  }

  /** The session ended under us: reconnect in the background, keeping every subscription. */
  private lost(session: DriverSession, error: ConnectionError): void {
    if (this.session !== session || this.isClosed()) return;
    this.session = undefined;
    this.gate.shut();
    this.subscriptions.detachAll();
    this.counters.increment(`${this.prefix}.connection_lost`);
    this.logger.warn({ host: this.hostName(session.host), error: error.message }, 'connection lost; reconnecting');
    this.setState('reconnecting', { host: this.hostName(session.host), error });
    this.connecting = this.establish('reconnect').finally(() => (this.connecting = undefined));
    // A failure is already logged, counted and reported as state 'disconnected'.
    this.connecting.catch(() => {});
  }

  // ---- subscriptions -----------------------------------------------------------------------

  private async subscribe(route: SubscribeRoute, handler: MessageHandler): Promise<Subscription> {
    if (this.isClosed()) throw new ConnectionError(`${this.name} connector is closed`);
    const subscription = this.subscriptions.add(route, handler);
    const session = this.session;
    if (session?.open) {
      try {
        await this.subscriptions.bind(subscription, session);
      } catch (error) {
        // Lost meanwhile: the reconnection restores the subscription. Still connected: a real refusal.
        if (this.session === session && session.open) {
          this.subscriptions.remove(subscription);
          this.counters.increment(`${this.prefix}.subscribe_failed`);
          this.logger.error({ destination: subscription.where, error: (error as Error).message }, 'subscribe failed');
          throw error instanceof ConnectionError ? error : new ConnectionError(`subscribe to ${subscription.where} failed: ${(error as Error).message}`, { cause: error });
        }
      }
    }
    this.logger.debug({ destination: subscription.where }, 'subscribed');
    return {
      unsubscribe: async () => {
        if (this.subscriptions.remove(subscription)) this.logger.debug({ destination: subscription.where }, 'unsubscribed');
      },
    };
  }

  // ---- publishing --------------------------------------------------------------------------

  private async publish(route: PublishRoute, body: Uint8Array, ttl: number, replyTo: string | undefined): Promise<void> {
    const what = describeRoute(route);
    try {
      if (this.isClosed()) throw new PublishError(`cannot publish ${what}: ${this.name} connector is closed`);
      const limit = this.settings.maxMessageSize;
      if (body.length > limit) throw new MessageTooLargeError(`cannot publish ${what}: the body has ${body.length} bytes, more than max_message_size (${limit} bytes)`);
      // Copied once: the caller may reuse its buffer, and a resend must send the same bytes.
      const message: OutboundMessage = { route, body: Buffer.from(body), ttl, sender: this.identity, ...(replyTo === undefined ? {} : { replyTo }) };
      await publishWithResend(this.resendContext, message, what);
    } catch (error) {
      this.counters.increment(`${this.prefix}.publish_failed`);
      this.logger.warn({ destination: what, error: (error as Error).message }, 'publish failed');
      if (error instanceof PublishError || error instanceof MessageTooLargeError) throw error;
      throw new PublishError(`cannot publish ${what}: ${(error as Error).message}`, { cause: error });
    }
  }

  // ---- helpers -----------------------------------------------------------------------------

  /** Whether disconnect() ran (a method, so TypeScript does not narrow it away across awaits). */
  private isClosed(): boolean {
    return this.currentState === 'closed';
  }

  private hostName(host: PoolHost): string {
    return this.driver.describeHost?.(host) ?? describeHost(host);
  }

  private setState(state: ConnectorState, detail: { host?: string; error?: Error } = {}): void {
    this.currentState = state;
    this.events.emit('state', state, detail);
  }

  /** Runs argument checks; a failure is counted, logged and rethrown. */
  private guard(check: () => void): void {
    guardArguments(check, this.counters, this.logger, this.prefix);
  }
}
