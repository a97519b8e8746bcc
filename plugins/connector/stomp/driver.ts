/**
 * The STOMP driver of the shared connector base, for both flavors (the dialect does the naming): a session is a
 * StompSession; routes become the dialect's destinations and headers; inbound MESSAGE frames become
 * InboundMessages with their expiry; RabbitMQ's implicit /temp-queue deliveries are routed by their
 * `subscription` header.
 */
import { PublishError } from '../../../src/errors.js';
import type { InboundMessage } from '../../../src/inter/connector.js';
import type {
  ConnectorDriver, Deliver, DriverSession, OpenOptions, OutboundMessage, SessionEvents, SubscribeRoute,
} from '../common/driver.js';
import type { PoolHost } from '../pool/options.js';
import type { StompDialect, SubscribeTarget } from './dialect.js';
import type { StompFrame } from './frame.js';
import type { StompOptions } from './options.js';
import { StompSession } from './session.js';

let replySequence = 0;

/** Builds the InboundMessage of a MESSAGE frame (the parser already made the body a fresh Buffer). */
export function toInboundMessage(frame: StompFrame): InboundMessage {
  const inbound: InboundMessage = { body: frame.body, headers: frame.headers };
  if (frame.headers.mc_sender) inbound.sender = frame.headers.mc_sender;
  if (frame.headers['reply-to']) inbound.replyTo = frame.headers['reply-to'];
  return inbound;
}

/** STOMP for the `activemq` and `rabbitmq` connectors. */
export class StompDriver implements ConnectorDriver {
  constructor(
    private readonly options: StompOptions,
    private readonly dialect: StompDialect,
  ) {}

  /** Opens a StompSession on `host` (the RabbitMQ dialect forgets which exchanges it declared: the broker may differ). */
  async open(host: PoolHost, how: OpenOptions): Promise<DriverSession> {
    this.dialect.forgetPrepared?.();
    const implicit = new Map<string, Deliver>();
    const session = await StompSession.open(host, {
      vhost: this.options.vhost,
      heartbeatMs: this.options.heartbeatMs,
      connectTimeoutMs: how.timeoutMs,
      maxMessageSize: how.maxMessageSize,
      clientCertSetting: `plugin.${this.dialect.flavor}.pool.${host.index}.ssl.cert and ssl.key`,
    }, {
      onLost: (error) => how.events.lost(error),
      onUnhandledMessage: (frame) => this.routeImplicit(frame, implicit, how.events),
      onOversize: (_command, headers, bytes) => how.events.oversize({ bytes, where: headers.destination ?? headers.subscription ?? '?' }),
      onMalformed: (problem) => how.events.malformed(problem),
    }, how.signal);
    return new StompDriverSession(session, this.dialect, this.options, implicit);
  }

  /** A reply destination of the dialect, unique within the process. */
  newReplyTo(collective: string, identity: string): string {
    return this.dialect.replyTarget(collective, identity, ++replySequence).replyTo;
  }

  /** Why `replyTo` is not a reply destination of this flavor. */
  checkReplyTo(replyTo: string): string | undefined {
    return this.dialect.checkReplyTo(replyTo);
  }

  private routeImplicit(frame: StompFrame, implicit: Map<string, Deliver>, events: SessionEvents): void {
    const deliver = implicit.get(frame.headers.subscription ?? '');
    if (deliver) {
      void deliver(toInboundMessage(frame), this.dialect.expiresAt(frame.headers));
      return;
    }
    events.unroutable({ subscription: frame.headers.subscription ?? null, destination: frame.headers.destination ?? null });
  }
}

/** One STOMP session as the base sees it. */
class StompDriverSession implements DriverSession {
  constructor(
    private readonly session: StompSession,
    private readonly dialect: StompDialect,
    private readonly options: StompOptions,
    private readonly implicit: Map<string, Deliver>,
  ) {}

  get host(): PoolHost {
    return this.session.host;
  }

  get open(): boolean {
    return this.session.open;
  }

  async subscribe(route: SubscribeRoute, deliver: Deliver): Promise<() => void> {
    let target: SubscribeTarget | undefined;
    if (route.kind === 'reply') {
      const reply = this.dialect.replySubscription(route.replyTo);
      if (reply.implicitSubscription !== undefined) {
        const key = reply.implicitSubscription;
        this.implicit.set(key, deliver);
        return () => this.implicit.delete(key);
      }
      target = reply.subscribe!;
    } else {
      await this.dialect.prepareCollective?.(this.session.host, route.collective);
      target = route.kind === 'broadcast'
        ? this.dialect.broadcastSubscription(route.collective, route.agent)
        : this.dialect.directedSubscription(route.collective, route.identity);
    }
    const id = await this.session.subscribe(target.destination, target.headers, (frame) => {
      void deliver(toInboundMessage(frame), this.dialect.expiresAt(frame.headers));
    }, this.options.connectTimeoutMs);
    return () => this.session.unsubscribe(id);
  }

  async publish(message: OutboundMessage, timeoutMs: number): Promise<void> {
    const { route } = message;
    let destination: string;
    const headers: Record<string, string> = {};
    if (route.kind === 'reply') {
      destination = route.replyTo;
    } else {
      try {
        await this.dialect.prepareCollective?.(this.session.host, route.collective);
      } catch (error) {
        // The broker is there but the exchanges cannot be declared: retrying the publish will not help.
        throw new PublishError((error as Error).message, { cause: error });
      }
      const target = route.kind === 'broadcast'
        ? this.dialect.broadcastSend(route.collective, route.agent)
        : this.dialect.directedSend(route.collective, route.agent, route.node);
      destination = target.destination;
      Object.assign(headers, target.headers);
    }
    if (message.replyTo !== undefined) headers['reply-to'] = message.replyTo;
    Object.assign(headers, this.dialect.ttlHeaders(message.ttl, Date.now()), { mc_sender: message.sender });
    try {
      await this.session.send(destination, headers, message.body, timeoutMs);
    } catch (error) {
      // A destination the broker refuses for good is a PublishError: resending after the reconnect would loop.
      const refused = error instanceof Error ? this.dialect.refusedDestination?.(destination, error) : undefined;
      if (refused !== undefined) throw new PublishError(refused, { cause: error });
      throw error;
    }
  }

  close(flushTimeoutMs: number): Promise<void> {
    return this.session.close(flushTimeoutMs);
  }
}
