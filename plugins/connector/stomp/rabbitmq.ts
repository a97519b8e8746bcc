/**
 * RabbitMQ naming, as MCollective 2.x's rabbitmq connector: broadcast on
 * `/exchange/<collective>_broadcast/<agent>`, directed on `/exchange/<collective>_directed/<node>`,
 * replies on `/temp-queue/mcollective_reply_<collective>_<seq>` (or, with `use_reply_exchange`,
 * `/exchange/mcollective_reply/<identity>_<pid>_<seq>`), TTL as a relative `expiration`.
 * STOMP cannot declare exchanges, so a daemon declares the collective's exchanges through AMQP (amqplib, loaded
 * only then); a client never does (it only publishes to them and receives on its reply queue), so a tsco run opens
 * no side connection.
 */
import type { ChannelModel } from 'amqplib';
import { ConnectionError } from '../../../src/errors.js';
import type { ConnectorRole } from '../../../src/inter/connector.js';
import type { Logger } from '../../../src/inter/logger.js';
import type { PoolHost } from '../pool/options.js';
import { describeHost } from '../pool/failover.js';
import { tlsOptionsFor } from '../pool/tls.js';
import { TTL_GRACE_SECONDS, type StompOptions } from './options.js';
import { type ReplyTarget, type SendTarget, type StompDialect, type SubscribeTarget, parseEpochMs } from './dialect.js';

/** The exchange replies go through with `use_reply_exchange` (MCollective's name). */
export const REPLY_EXCHANGE = 'mcollective_reply';

/** The exchanges a collective needs, with their AMQP types. */
export function collectiveExchanges(collective: string): Array<{ name: string; type: 'topic' | 'direct' }> {
  return [
    { name: `${collective}_broadcast`, type: 'topic' },
    { name: `${collective}_directed`, type: 'direct' },
  ];
}

/** The RabbitMQ dialect. Names reaching it are already checked (no `/`, no wildcards). */
export class RabbitMqDialect implements StompDialect {
  readonly flavor = 'rabbitmq' as const;
  private readonly prepared = new Map<string, Promise<void>>();

  constructor(
    private readonly options: Pick<StompOptions, 'useReplyExchange' | 'declareExchanges' | 'amqpPort' | 'vhost' | 'connectTimeoutMs'>,
    private readonly logger: Logger,
    /** Who the connector serves: only a daemon declares exchanges. */
    private readonly role: ConnectorRole = 'daemon',
  ) {}

  broadcastSubscription(collective: string, agent: string): SubscribeTarget {
    return { destination: `/exchange/${collective}_broadcast/${agent}`, headers: {} };
  }

  directedSubscription(collective: string, identity: string): SubscribeTarget {
    return { destination: `/exchange/${collective}_directed/${identity}`, headers: {} };
  }

  broadcastSend(collective: string, agent: string): SendTarget {
    return { destination: `/exchange/${collective}_broadcast/${agent}`, headers: {} };
  }

  directedSend(collective: string, _agent: string, node: string): SendTarget {
    return { destination: `/exchange/${collective}_directed/${node}`, headers: {} };
  }

  replyTarget(collective: string, identity: string, sequence: number): ReplyTarget {
    if (this.options.useReplyExchange) {
      const destination = `/exchange/${REPLY_EXCHANGE}/${identity}_${process.pid}_${sequence}`;
      return { replyTo: destination, subscribe: { destination, headers: {} } };
    }
    // RabbitMQ creates the temp queue when a SEND names it in reply-to, subscribes this connection
    // to it, and rewrites reply-to to /reply-queue/...; deliveries carry `subscription: <name>`.
    const destination = `/temp-queue/mcollective_reply_${collective}_${sequence}`;
    return { replyTo: destination, implicitSubscription: destination };
  }

  replySubscription(replyTo: string): Omit<ReplyTarget, 'replyTo'> {
    return replyTo.startsWith('/temp-queue/') ? { implicitSubscription: replyTo } : { subscribe: { destination: replyTo, headers: {} } };
  }

  checkReplyTo(replyTo: string): string | undefined {
    return /^\/(reply-queue|temp-queue|queue|amq\/queue)\/[^\s/]+$/.test(replyTo) || /^\/exchange\/[^\s/]+\/[^\s/]+$/.test(replyTo)
      ? undefined
      : 'a RabbitMQ reply destination looks like /reply-queue/<name>, /temp-queue/<name>, /queue/<name> or /exchange/<exchange>/<key>';
  }

  ttlHeaders(ttlSeconds: number, nowMs: number): Record<string, string> {
    const lifetimeMs = Math.round((ttlSeconds + TTL_GRACE_SECONDS) * 1000);
    // `expiration` is relative and only honoured while the message sits in a broker queue; the
    // absolute `mc_expires` lets the receiving connector drop it once it is past due locally.
    return { expiration: String(lifetimeMs), mc_expires: String(Math.round(nowMs + lifetimeMs)) };
  }

  expiresAt(headers: Readonly<Record<string, string>>): number | undefined {
    return parseEpochMs(headers.mc_expires);
  }

  /** A daemon declares the collective's exchanges (and the reply exchange) on `host` through AMQP when missing; a client does nothing. */
  prepareCollective(host: PoolHost, collective: string): Promise<void> {
    if (!this.options.declareExchanges || this.role === 'client') return Promise.resolve();
    const exchanges = collectiveExchanges(collective);
    if (this.options.useReplyExchange) exchanges.push({ name: REPLY_EXCHANGE, type: 'direct' });
    const key = `${host.host}:${this.options.amqpPort}/${this.options.vhost}/${collective}`;
    let pending = this.prepared.get(key);
    if (!pending) {
      pending = this.declare(host, exchanges);
      this.prepared.set(key, pending);
      // A failure is reported to this caller; the next caller tries again.
      pending.catch(() => this.prepared.delete(key));
    }
    return pending;
  }

  forgetPrepared(): void {
    this.prepared.clear();
  }

  refusedDestination(destination: string, error: Error): string | undefined {
    const exchange = /^\/exchange\/([^/]+)\//.exec(destination)?.[1];
    if (exchange === undefined || !error.message.includes(`no exchange '${exchange}'`)) return undefined;
    const collective = /^(.*)_(broadcast|directed)$/.exec(exchange)?.[1];
    return `the broker has no exchange ${exchange}: ${collective === undefined ? 'nothing declared it' : `no daemon of collective ${collective} has connected to it yet`}` +
      ` (daemons declare the exchanges${this.role === 'client' ? '; clients do not' : ''}; plugin.rabbitmq.declare_exchanges)`;
  }

  private async declare(host: PoolHost, exchanges: Array<{ name: string; type: 'topic' | 'direct' }>): Promise<void> {
    const where = `${host.ssl ? 'amqps' : 'amqp'}://${host.host}:${this.options.amqpPort}${this.options.vhost === '/' ? '/' : `/${this.options.vhost}`}`;
    let model: ChannelModel | undefined;
    try {
      const { connect: amqpConnect } = await import('amqplib');
      model = await amqpConnect(
        {
          protocol: host.ssl ? 'amqps' : 'amqp',
          hostname: host.host,
          port: this.options.amqpPort,
          username: host.user ?? 'guest',
          password: host.password ?? 'guest',
          vhost: this.options.vhost,
        },
        { timeout: this.options.connectTimeoutMs, ...(host.ssl ? tlsOptionsFor({ ...host, port: this.options.amqpPort }) : {}) },
      );
      // A failed check closes its channel; an error event without a listener would throw.
      model.on('error', () => {});
      for (const exchange of exchanges) {
        const probe = await model.createChannel();
        probe.on('error', () => {});
        const exists = await probe.checkExchange(exchange.name).then(() => true, () => false);
        if (exists) {
          await probe.close().catch(() => {});
          continue;
        }
        const channel = await model.createChannel();
        await channel.assertExchange(exchange.name, exchange.type, { durable: true, autoDelete: false });
        await channel.close();
        this.logger.info({ exchange: exchange.name, type: exchange.type, broker: where }, 'declared RabbitMQ exchange');
      }
    } catch (error) {
      throw new ConnectionError(
        `cannot declare RabbitMQ exchanges ${exchanges.map((e) => e.name).join(', ')} through AMQP at ${where} ` +
          `(STOMP host ${describeHost(host)}; set plugin.rabbitmq.amqp_port, or declare them yourself and set plugin.rabbitmq.declare_exchanges = 0): ` +
          `${(error as Error).message}`,
        { cause: error },
      );
    } finally {
      await model?.close().catch(() => {});
    }
  }
}
