/**
 * How a STOMP broker flavor names things: the destinations and headers of broadcast, directed and
 * reply traffic, TTL headers, and what must exist on the broker before use. The connector core
 * (connector.ts) is flavor-agnostic; activemq.ts and rabbitmq.ts implement this contract.
 */
import type { PoolHost } from '../pool/options.js';

/** A destination to SUBSCRIBE to, with its extra SUBSCRIBE headers. */
export interface SubscribeTarget {
  destination: string;
  headers: Record<string, string>;
}

/** A destination to SEND to, with its extra SEND headers. */
export interface SendTarget {
  destination: string;
  headers: Record<string, string>;
}

/** Where replies for one reply subscription come from and what requests put in `reply-to`. */
export interface ReplyTarget {
  /** The value of the requests' `reply-to` header. */
  replyTo: string;
  /** The SUBSCRIBE to issue; absent when the broker subscribes implicitly (RabbitMQ /temp-queue). */
  subscribe?: SubscribeTarget;
  /** The `subscription` header value of implicitly subscribed deliveries (RabbitMQ /temp-queue). */
  implicitSubscription?: string;
}

/** Flavor-specific naming and broker preparation. */
export interface StompDialect {
  readonly flavor: 'activemq' | 'rabbitmq';
  broadcastSubscription(collective: string, agent: string): SubscribeTarget;
  directedSubscription(collective: string, identity: string): SubscribeTarget;
  broadcastSend(collective: string, agent: string): SendTarget;
  directedSend(collective: string, agent: string, node: string): SendTarget;
  /** A new private reply destination for `identity`; `sequence` makes it unique within the process. */
  replyTarget(collective: string, identity: string, sequence: number): ReplyTarget;
  /** How to receive replies sent to `replyTo` (a destination replyTarget made): SUBSCRIBE, or implicitly. */
  replySubscription(replyTo: string): Omit<ReplyTarget, 'replyTo'>;
  /** Why `replyTo` cannot be a reply destination of this flavor, or undefined when it can. */
  checkReplyTo(replyTo: string): string | undefined;
  /** TTL headers of a message published now with `ttl` seconds (grace included). */
  ttlHeaders(ttlSeconds: number, nowMs: number): Record<string, string>;
  /** When an inbound message expires (ms since the epoch), from its headers; undefined when unknown. */
  expiresAt(headers: Readonly<Record<string, string>>): number | undefined;
  /** Makes sure the broker has what `collective` needs (RabbitMQ exchanges) on `host`; idempotent. */
  prepareCollective?(host: PoolHost, collective: string): Promise<void>;
  /** Forgets what prepareCollective learned (after a reconnect the broker may be a different one). */
  forgetPrepared?(): void;
  /**
   * When `error` (the session ending under a SEND to `destination`) means the broker refuses that destination for
   * good (RabbitMQ: its exchange does not exist), why, in words; sending again after a reconnect would only fail
   * the same way. Undefined otherwise.
   */
  refusedDestination?(destination: string, error: Error): string | undefined;
}

/** Parses a header holding milliseconds since the epoch (shared by every connector). */
export { parseEpochMs } from '../common/headers.js';
