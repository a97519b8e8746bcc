/**
 * The memory connector: the shared connector base over an in-process MemoryBroker, for tests, demos and
 * single-process setups. It behaves like the broker connectors: subscriptions survive a broker outage (the
 * connector waits for the broker, reconnects and binds them again before reporting `connected`), publishes made
 * while disconnected wait up to `publish_timeout` and then fail with PublishError, every message carries
 * `mc_sender` and an expiry of TTL + `ttl_grace`, and max_message_size holds on publish and on delivery.
 */
import { randomBytes } from 'node:crypto';
import { ConnectionError } from '../../../src/errors.js';
import type { ConnectorRole, InboundMessage } from '../../../src/inter/connector.js';
import type { Counters, Logger } from '../../../src/inter/logger.js';
import { BrokerConnector } from '../common/base.js';
import type { ConnectorDriver, Deliver, DriverSession, OpenOptions, OutboundMessage, SubscribeRoute } from '../common/driver.js';
import type { ReconnectPolicy } from '../pool/backoff.js';
import type { PoolHost } from '../pool/options.js';
import { MemoryBroker, type MemoryEnvelope, type MemorySession, broadcastDestination, directedDestination, isReplyDestination } from './broker.js';
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
  role?: ConnectorRole;
  connectBudgetMs?: number;
}

/** The first connect() waits once for a stopped broker (up to connect_timeout); reconnecting waits forever. */
const FIRST_CONNECT: ReconnectPolicy = { initialDelayMs: 0, maxDelayMs: 0, exponential: false, multiplier: 1, maxAttempts: 1 };
const RECONNECT: ReconnectPolicy = { initialDelayMs: 0, maxDelayMs: 0, exponential: false, multiplier: 1, maxAttempts: 0 };

let replySequence = 0;

/** A Connector over an in-process MemoryBroker. */
export class MemoryConnector extends BrokerConnector {
  private readonly brokerOf: () => MemoryBroker;

  constructor(init: MemoryConnectorInit) {
    const options: MemoryOptions = { ...DEFAULT_MEMORY_OPTIONS, ...init.options };
    const holder: { broker?: MemoryBroker } = init.broker ? { broker: init.broker } : {};
    const problems = [...(init.configProblems ?? []), ...validateMemoryOptions(options)];
    const brokerOf = (): MemoryBroker => (holder.broker ??= MemoryBroker.named(options.broker));
    super({
      ...init,
      name: 'memory',
      driver: new MemoryDriver(brokerOf, options, init.identity),
      // One pseudo-host: the broker (named by describeHost).
      hosts: [{ index: 1, host: options.broker, port: 0, ssl: false }],
      randomize: false,
      firstConnect: FIRST_CONNECT,
      reconnect: RECONNECT,
      publishTimeoutMs: options.publishTimeoutMs,
      connectTimeoutMs: options.connectTimeoutMs,
      maxMessageSize: options.maxMessageSize,
      configProblems: problems,
    });
    this.brokerOf = brokerOf;
  }

  /** The broker this connector uses. */
  get broker(): MemoryBroker {
    return this.brokerOf();
  }
}

/** The in-process broker as a connector driver. */
class MemoryDriver implements ConnectorDriver {
  constructor(
    private readonly broker: () => MemoryBroker,
    private readonly options: MemoryOptions,
    private readonly identity: string,
  ) {}

  /** Joins the broker, waiting up to `timeoutMs` while it is stopped. */
  async open(host: PoolHost, how: OpenOptions): Promise<DriverSession> {
    const broker = this.broker();
    if (!broker.running) {
      let timer: NodeJS.Timeout | undefined;
      let onAbort: (() => void) | undefined;
      const outcome = await Promise.race([
        broker.whenRunning().then(() => 'running' as const),
        new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), how.timeoutMs))),
        new Promise<'aborted'>((resolve) => how.signal.addEventListener('abort', (onAbort = () => resolve('aborted')), { once: true })),
      ]);
      clearTimeout(timer);
      if (onAbort) how.signal.removeEventListener('abort', onAbort);
      if (outcome === 'aborted') throw new ConnectionError('memory connector closed while connecting');
      if (outcome === 'timeout') {
        throw new ConnectionError(`memory broker ${broker.name} did not start within ${how.timeoutMs / 1000} s (connect_timeout)`, { reason: 'timeout' });
      }
    }
    const session = broker.open(this.identity, (error) => how.events.lost(error));
    return new MemoryDriverSession(session, host, this.options, how);
  }

  /** `reply/<collective>/<identity>/<pid>/<seq>/<random>`. */
  newReplyTo(collective: string, identity: string): string {
    replySequence += 1;
    return `reply/${collective}/${identity}/${process.pid}/${replySequence}/${randomBytes(4).toString('hex')}`;
  }

  /** Only this broker's reply destinations. */
  checkReplyTo(replyTo: string): string | undefined {
    return isReplyDestination(replyTo) ? undefined : 'not a memory reply destination (reply/...)';
  }

  /** `memory://<broker>`. */
  describeHost(host: PoolHost): string {
    return `memory://${host.host}`;
  }
}

/** One session on the in-process broker. */
class MemoryDriverSession implements DriverSession {
  constructor(
    private readonly session: MemorySession,
    readonly host: PoolHost,
    private readonly options: MemoryOptions,
    private readonly how: OpenOptions,
  ) {}

  get open(): boolean {
    return this.session.isOpen;
  }

  async subscribe(route: SubscribeRoute, deliver: Deliver): Promise<() => void> {
    const destination = route.kind === 'broadcast'
      ? broadcastDestination(route.collective, route.agent)
      : route.kind === 'directed' ? directedDestination(route.collective, route.identity) : route.replyTo;
    if (!this.session.isOpen) throw new ConnectionError(`memory session of ${this.session.client} is closed`);
    return this.session.bind(destination, (envelope) => this.receive(destination, envelope, deliver));
  }

  async publish(message: OutboundMessage): Promise<void> {
    const { route } = message;
    const destination = route.kind === 'broadcast'
      ? broadcastDestination(route.collective, route.agent)
      : route.kind === 'directed' ? directedDestination(route.collective, route.node) : route.replyTo;
    const expiresAt = Date.now() + (message.ttl + this.options.ttlGraceSeconds) * 1000;
    const headers: Record<string, string> = { expires: String(expiresAt) };
    if (route.kind !== 'reply') headers.agent = route.agent;
    if (message.replyTo !== undefined) headers['reply-to'] = message.replyTo;
    const envelope: Omit<MemoryEnvelope, 'sender'> = { body: message.body, headers, expiresAt };
    if (message.replyTo !== undefined) envelope.replyTo = message.replyTo;
    if (!this.session.isOpen) throw new ConnectionError(`memory session of ${this.session.client} is closed`);
    this.session.publish(destination, envelope);
  }

  async close(): Promise<void> {
    this.session.close();
  }

  /** A broker delivery: too large ones (from a publisher with a larger limit) are dropped, others copied per receiver. */
  private receive(destination: string, envelope: MemoryEnvelope, deliver: Deliver): Promise<void> {
    if (envelope.body.length > this.how.maxMessageSize) {
      this.how.events.oversize({ bytes: envelope.body.length, where: destination });
      return Promise.resolve();
    }
    const headers: Record<string, string> = { ...envelope.headers, destination, mc_sender: envelope.sender };
    const message: InboundMessage = { body: envelope.body.slice(), sender: envelope.sender, headers };
    if (envelope.replyTo !== undefined) message.replyTo = envelope.replyTo;
    return deliver(message, envelope.expiresAt);
  }
}
