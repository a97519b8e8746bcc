/**
 * The NATS driver of the shared connector base (core NATS through `@nats-io/transport-node`, subjects.ts for the
 * layout). A session is one connection without the client's own reconnection. Every message carries `mc_sender`
 * and `mc_expires` (TTL + `ttl_grace`) as NATS headers and a request its reply subject as the NATS reply.
 *
 * NATS has no per-message acknowledgement: a publish or a subscription is confirmed by a PING/PONG round trip
 * (`flush`) after it, since the server handles a connection's protocol in order. Confirmations are batched: every
 * publish and subscription made in the same tick shares one flush, so a burst costs one round trip, not one per
 * message. The server's -ERR lines arrive before that PONG, so a publish the server's permissions denied fails
 * with PublishError naming the subject, and a denied subscription fails too.
 */
import type { Msg, NatsConnection, PublishOptions } from '@nats-io/transport-node';
import { ConnectionError, MessageTooLargeError, PublishError } from '../../../src/errors.js';
import type { InboundMessage } from '../../../src/inter/connector.js';
import type { Counters, Logger } from '../../../src/inter/logger.js';
import type { ConnectorDriver, Deliver, DriverSession, OpenOptions, OutboundMessage, PublishRoute, SessionEvents, SubscribeRoute } from '../common/driver.js';
import { EXPIRES_HEADER, SENDER_HEADER, parseEpochMs } from '../common/headers.js';
import { describeHost } from '../pool/failover.js';
import type { PoolHost } from '../pool/options.js';
import { type NatsModule, openNatsConnection } from './connection.js';
import { ConfirmationBatcher } from './confirm.js';
import { MAX_HEADER_BYTES, guardConnection } from './guard.js';
import type { NatsOptions } from './options.js';
import { broadcastSubject, checkReplySubject, directedSubject, replySubject, subjectNameProblem } from './subjects.js';

/** What the NATS driver needs besides its options. */
export interface NatsDriverContext {
  identity: string;
  counters: Counters;
  logger: Logger;
}

/** Core NATS for the `nats` connector. */
export class NatsDriver implements ConnectorDriver {
  constructor(
    private readonly options: NatsOptions,
    private readonly context: NatsDriverContext,
  ) {}

  /** Connects to `host` and guards the connection's parser (max_message_size, -ERR lines). */
  async open(host: PoolHost, how: OpenOptions): Promise<DriverSession> {
    const { nats, connection } = await openNatsConnection(host, {
      identity: this.context.identity, heartbeatMs: this.options.heartbeatMs, signal: how.signal, timeoutMs: how.timeoutMs,
    });
    try {
      const session = new NatsSession(connection, host, nats, this.options, this.context, how.events);
      guardConnection(connection, nats, { maxBody: how.maxMessageSize, maxHeader: MAX_HEADER_BYTES }, {
        oversize: (bytes, subject) => how.events.oversize({ bytes, where: subject }),
        serverError: (text) => session.serverError(text),
      });
      const maxPayload = connection.info?.max_payload ?? 0;
      if (maxPayload < how.maxMessageSize) {
        this.context.logger.info({ host: describeHost(host), maxPayload, maxMessageSize: how.maxMessageSize },
          'the NATS server accepts smaller messages (max_payload) than max_message_size: larger publishes fail');
      }
      return session;
    } catch (error) {
      await connection.close().catch(() => undefined);
      throw error instanceof ConnectionError ? error : new ConnectionError(`cannot set up the NATS connection to ${describeHost(host)}: ${(error as Error).message}`, { cause: error });
    }
  }

  /** `<collective>.reply.<identity>.<pid>_<seq>_<random>`. */
  newReplyTo(collective: string, identity: string): string {
    return replySubject(collective, identity);
  }

  /** Only reply subjects of this layout. */
  checkReplyTo(replyTo: string): string | undefined {
    return checkReplySubject(replyTo);
  }

  /** Collectives are one subject token; identities have no empty token. */
  nameProblem(kind: 'collective' | 'identity', value: string): string | undefined {
    return subjectNameProblem(kind, value);
  }
}

/** The subject of a route. */
function subjectOf(route: SubscribeRoute | PublishRoute): string {
  switch (route.kind) {
    case 'broadcast': return broadcastSubject(route.collective, route.agent);
    case 'directed': return directedSubject(route.collective, 'node' in route ? route.node : route.identity);
    case 'reply': return route.replyTo;
  }
}

/** How many recent publish denials a session remembers (to tell which publishes they were for). */
const DENIALS_KEPT = 64;

/** One NATS connection as the base sees it. */
class NatsSession implements DriverSession {
  private ended = false;
  private closing = false;
  private readonly where: string;
  private readonly confirmations: ConfirmationBatcher;
  /** Subjects of the latest publish denials, oldest first, and how many there were in all. */
  private readonly denied: string[] = [];
  private deniedCount = 0;

  constructor(
    private readonly connection: NatsConnection,
    readonly host: PoolHost,
    private readonly nats: NatsModule,
    private readonly options: NatsOptions,
    private readonly context: NatsDriverContext,
    events: SessionEvents,
  ) {
    this.where = describeHost(host);
    this.confirmations = new ConfirmationBatcher(() => connection.flush(), this.where);
    void connection.closed().then((error) => {
      this.ended = true;
      const lost = new ConnectionError(error ? `${this.where}: ${error.message}` : `${this.where} closed the connection`, { cause: error });
      this.confirmations.failAll(lost);
      if (!this.closing) events.lost(lost);
    });
  }

  get open(): boolean {
    return !this.ended && !this.closing;
  }

  async subscribe(route: SubscribeRoute, deliver: Deliver): Promise<() => void> {
    const subject = subjectOf(route);
    this.ensureOpen(`subscribe to ${subject}`);
    const subscription = this.connection.subscribe(subject, {
      callback: (error, message) => {
        if (error === null) this.receive(message, subject, deliver);
      },
    });
    try {
      await this.confirmations.confirm(this.options.connectTimeoutMs);
    } catch (error) {
      subscription.unsubscribe();
      throw error instanceof ConnectionError ? error : new ConnectionError(`subscribe to ${subject}: ${(error as Error).message}`, { cause: error });
    }
    if (subscription.isClosed()) {
      // Closed with an error: the server refused it (permissions); without: the connection went meanwhile.
      const why = await subscription.closed;
      if (!(why instanceof Error)) throw new ConnectionError(`cannot subscribe to ${subject}: the connection to ${this.where} closed`);
      this.context.counters.increment('connector.nats.permission_denied');
      throw new ConnectionError(`the NATS server refused the subscription to ${subject}: ${why.message}`);
    }
    return () => {
      if (!this.ended) subscription.unsubscribe();
    };
  }

  async publish(message: OutboundMessage, timeoutMs: number): Promise<void> {
    const subject = subjectOf(message.route);
    this.ensureOpen(`publish to ${subject}`);
    const headers = this.nats.headers();
    headers.set(SENDER_HEADER, message.sender);
    headers.set(EXPIRES_HEADER, String(Date.now() + Math.round((message.ttl + this.options.ttlGraceSeconds) * 1000)));
    const options: PublishOptions = message.replyTo === undefined ? { headers } : { headers, reply: message.replyTo };
    const deniedBefore = this.deniedCount;
    try {
      this.connection.publish(subject, message.body, options);
    } catch (error) {
      throw this.publishFailure(subject, message.body.length, error);
    }
    await this.confirmations.confirm(timeoutMs);
    if (this.deniedCount !== deniedBefore && this.deniedSince(deniedBefore, subject)) {
      throw new PublishError(`the NATS server denied publishing to ${subject} (permissions of ${this.host.user ?? 'this connection'})`);
    }
  }

  async close(flushTimeoutMs: number): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    if (!this.ended) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        this.connection.flush().catch(() => undefined),
        new Promise((resolve) => (timer = setTimeout(resolve, Math.min(flushTimeoutMs, 5000)))),
      ]);
      clearTimeout(timer);
    }
    await this.connection.close().catch((error: Error) => this.context.logger.debug({ error: error.message }, 'close failed'));
  }

  /** A -ERR line from the server: a publish denial is remembered for the publishes waiting on their flush. */
  serverError(text: string): void {
    const denial = /^Permissions Violation for Publish to "?([^"]*)"?/i.exec(text);
    if (!denial) return;
    this.context.counters.increment('connector.nats.permission_denied');
    this.denied.push(denial[1]!);
    if (this.denied.length > DENIALS_KEPT) this.denied.shift();
    this.deniedCount += 1;
  }

  /** Whether a denial of `subject` arrived after the count was `before`. */
  private deniedSince(before: number, subject: string): boolean {
    const recent = Math.min(this.deniedCount - before, this.denied.length);
    for (let i = this.denied.length - recent; i < this.denied.length; i++) if (this.denied[i] === subject) return true;
    return false;
  }

  private ensureOpen(what: string): void {
    if (!this.open) throw new ConnectionError(`cannot ${what}: the connection to ${this.where} is closed`);
  }

  private publishFailure(subject: string, bodyBytes: number, error: unknown): Error {
    const { errors } = this.nats;
    if (error instanceof errors.InvalidArgumentError && /max_payload/.test(error.message)) {
      const limit = this.connection.info?.max_payload;
      return new MessageTooLargeError(
        `cannot publish to ${subject}: the NATS server ${this.where} accepts at most ${limit} bytes per message (its max_payload), `
        + `and this body has ${bodyBytes} bytes plus headers: raise max_payload in the server's configuration or lower max_message_size`,
      );
    }
    if (error instanceof errors.ClosedConnectionError || this.ended) return new ConnectionError(`publish to ${subject}: the connection to ${this.where} is closed`, { cause: error });
    return new PublishError(`cannot publish to ${subject}: ${(error as Error).message}`, { cause: error });
  }

  /**
   * Hands a message on: body copied out of the socket chunk (a view would pin it while queued), headers read. The
   * subscription's subject is the message's (no wildcards), so it is not decoded again per message.
   */
  private receive(msg: Msg, subject: string, deliver: Deliver): void {
    const headers: Record<string, string> = {};
    try {
      const natsHeaders = msg.headers;
      if (natsHeaders) for (const key of natsHeaders.keys()) headers[key] = natsHeaders.get(key);
    } catch {
      // A header block another publisher broke: delivered without headers, so without mc_sender (counted by the base).
    }
    headers.subject = subject;
    const inbound: InboundMessage = { body: Buffer.from(msg.data), headers };
    if (msg.reply) {
      headers['reply-to'] = msg.reply;
      inbound.replyTo = msg.reply;
    }
    const sender = headers[SENDER_HEADER];
    if (sender) inbound.sender = sender;
    void deliver(inbound, parseEpochMs(headers[EXPIRES_HEADER]));
  }
}
