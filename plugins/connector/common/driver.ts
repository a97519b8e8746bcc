/**
 * The contract between the shared connector base (base.ts) and one broker protocol. The base owns everything
 * the connectors have in common: the state machine, failover with back-off over the pool, reconnection, the
 * subscription registry restored on every new session, the ready gate for publishes, argument and size checks,
 * serial delivery, events and counters. A driver only opens a session to one pool host and, on that session,
 * subscribes to and publishes on routes named in MCollective's terms, closes it, and reports its loss.
 *
 * A driver for another broker (as plugins/connector/nats: subjects for broadcast, directed and reply traffic)
 * implements `ConnectorDriver` and `DriverSession`; a connector is then `new BrokerConnector({ driver, ... })`.
 */
import type { ConnectionError } from '../../../src/errors.js';
import type { ConnectorRole, InboundMessage } from '../../../src/inter/connector.js';
import type { Counters, Logger } from '../../../src/inter/logger.js';
import type { ReconnectPolicy } from '../pool/backoff.js';
import type { PoolHost } from '../pool/options.js';

/** What a subscription receives. Names are already checked (src/names.ts) when they reach a driver. */
export type SubscribeRoute =
  /** Requests for `agent` broadcast in `collective`. */
  | { kind: 'broadcast'; collective: string; agent: string }
  /** Requests directed at the node `identity` in `collective`, for any agent. */
  | { kind: 'directed'; collective: string; identity: string }
  /** Replies sent to `replyTo`, a name this driver made with `newReplyTo`. */
  | { kind: 'reply'; collective: string; replyTo: string };

/** Where a message goes. */
export type PublishRoute =
  | { kind: 'broadcast'; collective: string; agent: string }
  | { kind: 'directed'; collective: string; agent: string; node: string }
  | { kind: 'reply'; replyTo: string };

/** A message to publish; its body is within max_message_size and owned by the driver (a private copy). */
export interface OutboundMessage {
  route: PublishRoute;
  body: Buffer;
  /** Seconds the message is valid; the driver adds its TTL grace when it sets the broker's expiry. */
  ttl: number;
  /** A request's reply destination. */
  replyTo?: string;
  /** This node's identity, sent as `mc_sender`. */
  sender: string;
}

/**
 * Hands one inbound message to its subscription. Settles (never rejects) once the subscription's handler has
 * settled, or at once when the message is dropped; a driver may acknowledge the message then. `expiresAt` is the
 * message's own expiry in ms since the epoch, when it states one; the base drops it once that has passed.
 */
export type Deliver = (message: InboundMessage, expiresAt: number | undefined) => Promise<void>;

/** An inbound message dropped because it is larger than max_message_size. */
export interface OversizeReport {
  /** Its size in bytes, when the frame announced it (content-length, AMQP content header). */
  bytes: number | undefined;
  /** Where it came from (destination, subscription or exchange), for the log line. */
  where: string;
}

/** What a session tells the base. */
export interface SessionEvents {
  /** The connection ended under the session (never after close()); called at most once. */
  lost(error: ConnectionError): void;
  /** An inbound message larger than max_message_size was dropped before its body was buffered whole. */
  oversize(report: OversizeReport): void;
  /** An inbound message for no subscription of this session was dropped. */
  unroutable(detail: Record<string, string | null>): void;
  /** An inbound frame broke the protocol; the session ends (lost() follows). */
  malformed(problem: string): void;
}

/** How a session is opened. */
export interface OpenOptions {
  /** Aborted when the connector closes; the attempt must stop and reject. */
  signal: AbortSignal;
  /** The attempt must settle within this many ms (connect_timeout, or what is left of a client's budget). */
  timeoutMs: number;
  /** Bytes: larger inbound messages are dropped before their body is buffered (max_message_size). */
  maxMessageSize: number;
  events: SessionEvents;
}

/** One connection to one broker. */
export interface DriverSession {
  /** The pool host this session is connected to. */
  readonly host: PoolHost;
  /** Whether the connection is still usable. */
  readonly open: boolean;
  /**
   * Starts delivery of `route` to `deliver` once the broker confirmed it; resolves to the function that stops it
   * (best effort; a closed session has no subscriptions left). Rejects with ConnectionError.
   */
  subscribe(route: SubscribeRoute, deliver: Deliver): Promise<() => void>;
  /**
   * Publishes and resolves once the broker has the message (receipt, confirm), within `timeoutMs`. Rejects with
   * ConnectionError when the connection went away first (the base sends it again after reconnecting), with
   * PublishError when the broker refused it or did not confirm in time.
   */
  publish(message: OutboundMessage, timeoutMs: number): Promise<void>;
  /** Waits up to `flushTimeoutMs` for unconfirmed publishes, then closes; lost() is not called. */
  close(flushTimeoutMs: number): Promise<void>;
}

/** A broker protocol. */
export interface ConnectorDriver {
  /**
   * Opens a session on `host`. Rejects with ConnectionError, with its `reason` set when the driver knows it
   * (refused, auth, tls, timeout), so a client can say why in one line.
   */
  open(host: PoolHost, options: OpenOptions): Promise<DriverSession>;
  /** A new private reply destination for `identity` in `collective`; it keeps its name across reconnects. */
  newReplyTo(collective: string, identity: string): string;
  /** Why `replyTo` cannot be a reply destination of this broker, or undefined when it can. */
  checkReplyTo?(replyTo: string): string | undefined;
  /**
   * Why this broker cannot carry `value` as a collective or node identity although src/names.ts allows it (NATS:
   * a collective is one subject token), or undefined when it can. The base refuses such a name as an invalid
   * argument (its own identity as a configuration problem).
   */
  nameProblem?(kind: 'collective' | 'identity', value: string): string | undefined;
  /** How a pool host is named in logs and events (`host:port` by default). */
  describeHost?(host: PoolHost): string;
}

/** A route in words, for logs and errors. */
export function describeRoute(route: SubscribeRoute | PublishRoute): string {
  switch (route.kind) {
    case 'broadcast': return `broadcast ${route.collective}/${route.agent}`;
    case 'directed': return `directed ${route.collective}/${'node' in route ? route.node : route.identity}`;
    case 'reply': return `reply ${route.replyTo}`;
  }
}

/** What a connector is built from besides its driver's own options. */
export interface ConnectorBaseInit {
  /** The connector's name (`connector = <name>`), also the counter prefix `connector.<name>.`. */
  name: string;
  /** This node's identity, sent as `mc_sender`. */
  identity: string;
  logger: Logger;
  counters: Counters;
  driver: ConnectorDriver;
  /** The broker pool, tried in order (or shuffled per cycle with `randomize`). */
  hosts: readonly PoolHost[];
  randomize: boolean;
  /** Back-off between reconnection attempts (and first-connect attempts unless `firstConnect` is given). */
  reconnect: ReconnectPolicy;
  /** Back-off and attempts of the first connect(); `reconnect` when absent. */
  firstConnect?: ReconnectPolicy;
  /** How long a publish waits for a (re)connection and the broker's confirmation, ms. */
  publishTimeoutMs: number;
  /** How long one connection attempt may take, ms; a client's whole connect budget unless connectBudgetMs is lower. */
  connectTimeoutMs: number;
  /** Bytes: the largest body published or accepted (max_message_size). */
  maxMessageSize: number;
  /** Who the connector serves (ConnectorContext.role); `daemon` when absent. */
  role?: ConnectorRole;
  /** A client's connect budget in ms when lower than connectTimeoutMs (ConnectorContext.connectBudgetMs). */
  connectBudgetMs?: number;
  /** Problems found while reading the configuration; validate() reports them and connect() refuses. */
  configProblems?: readonly string[];
  /** Accepted-but-adjusted settings, logged once at the first connect(). */
  configWarnings?: readonly string[];
}

/** The pool settings every broker's options carry, as the connector base takes them. */
export type PoolInit = Pick<ConnectorBaseInit, 'hosts' | 'randomize' | 'reconnect' | 'publishTimeoutMs' | 'connectTimeoutMs' | 'maxMessageSize'>;

/** The part of ConnectorBaseInit that comes straight from a broker's pool options. */
export function poolInit(options: PoolInit): PoolInit {
  const { hosts, randomize, reconnect, publishTimeoutMs, connectTimeoutMs, maxMessageSize } = options;
  return { hosts, randomize, reconnect, publishTimeoutMs, connectTimeoutMs, maxMessageSize };
}
