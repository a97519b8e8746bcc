/**
 * The middleware connector contract. Implementations live under plugins/connector/<name> and
 * are chosen by the `connector` setting through src/connector/registry.ts.
 * Bodies are opaque bytes: the security provider has already encoded them.
 * This module imports nothing but sibling interface modules.
 */
import type { ConfigView } from './config.js';
import type { Counters, Logger } from './logger.js';

/** A message as delivered to a subscriber. */
export interface InboundMessage {
  body: Uint8Array;
  /** Where replies to this message go (opaque to everyone but the connector). */
  replyTo?: string;
  /** The `mc_sender` header: the publishing node's identity, as the broker saw it (not authenticated). */
  sender?: string;
  /** Raw transport headers, for diagnostics. */
  headers: Readonly<Record<string, string>>;
}

/** Called for each delivered message. A rejected promise is logged and counted, never crashes the connector. */
export type MessageHandler = (message: InboundMessage) => void | Promise<void>;

/** A live subscription; survives reconnects until unsubscribed. */
export interface Subscription {
  unsubscribe(): Promise<void>;
}

/** A reply destination owned by this client. */
export interface ReplySubscription extends Subscription {
  /** The value to put in a request's reply-to. */
  readonly replyTo: string;
}

/** A request to publish: broadcast to every node hosting the agent, or directed at one node. */
export interface PublishRequest {
  collective: string;
  agent: string;
  body: Uint8Array;
  /** Seconds; the broker may drop the message after this (plus the connector's grace). */
  ttl: number;
  replyTo?: string;
  /** Absent: broadcast. Present: directed to this node identity only. */
  node?: string;
}

/** Connection states a connector moves through. */
export type ConnectorState = 'disconnected' | 'connecting' | 'connected' | 'reconnecting' | 'closed';

/** Events a connector emits. */
export interface ConnectorEvents {
  state: (state: ConnectorState, detail?: { host?: string; error?: Error }) => void;
}

/** A middleware connector. */
export interface Connector {
  readonly name: string;
  readonly state: ConnectorState;
  /** Every configuration problem at once. */
  validate(): string[];
  connect(): Promise<void>;
  /** Flushes pending publishes (bounded), then closes. */
  disconnect(): Promise<void>;
  /** Requests for `agent` broadcast in `collective`. */
  subscribeBroadcast(collective: string, agent: string, handler: MessageHandler): Promise<Subscription>;
  /** Requests directed at this node (`identity`) in `collective`, for any agent. */
  subscribeDirected(collective: string, identity: string, handler: MessageHandler): Promise<Subscription>;
  /** A private reply destination for this client. */
  subscribeReplies(collective: string, handler: MessageHandler): Promise<ReplySubscription>;
  publishRequest(request: PublishRequest): Promise<void>;
  publishReply(replyTo: string, body: Uint8Array, ttl: number): Promise<void>;
  on<E extends keyof ConnectorEvents>(event: E, listener: ConnectorEvents[E]): void;
  off<E extends keyof ConnectorEvents>(event: E, listener: ConnectorEvents[E]): void;
}

/**
 * Who a connector serves. A `daemon` keeps trying to (re)connect for as long as its settings allow
 * (`max_reconnect_attempts`, forever by default). A `client` run has a time budget: it gives up connecting once
 * `connect_timeout` (or the `connectBudgetMs` it is given, when lower) is spent, or at once when every broker
 * refused it for a reason retrying cannot fix (authentication, TLS), and logs its attempts at debug level only,
 * so the caller can print one line saying why.
 */
export type ConnectorRole = 'client' | 'daemon';

/** What a connector factory receives. */
export interface ConnectorContext {
  config: ConfigView;
  /** This node's identity (sent as mc_sender). */
  identity: string;
  logger: Logger;
  counters: Counters;
  /** Who the connector serves; `daemon` when absent. */
  role?: ConnectorRole;
  /**
   * Clients only: the most milliseconds connecting (and each reconnection) may take in total, every attempt and
   * pool host included, when lower than the connector's `connect_timeout` (for example `tsco -t`).
   */
  connectBudgetMs?: number;
}

/** Builds a connector; registered under a name in the connector registry. */
export type ConnectorFactory = (context: ConnectorContext) => Connector;
