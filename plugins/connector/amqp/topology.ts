/**
 * The AMQP 0-9-1 layout of MCollective's rabbitmq connector: a topic exchange `<collective>_broadcast`
 * (routing key = agent) for broadcast requests, a direct exchange `<collective>_directed` (routing key =
 * node identity) for directed ones, and an exclusive auto-delete reply queue per client, whose name is the
 * reply-to; replies go through the default exchange. Also the message properties written and read.
 */
import { randomBytes } from 'node:crypto';
import type { ConsumeMessage, Options } from 'amqplib';
import type { InboundMessage } from '../../../src/inter/connector.js';

/** The topic exchange broadcast requests for `collective` go to. */
export function broadcastExchange(collective: string): string {
  return `${collective}_broadcast`;
}

/** The direct exchange directed requests for `collective` go to. */
export function directedExchange(collective: string): string {
  return `${collective}_directed`;
}

/**
 * Exchange options, as MCollective's setup instructions declare them (`rabbitmqadmin declare exchange`,
 * durable); the STOMP rabbitmq connector declares the same, so both can share a broker.
 */
export const EXCHANGE_OPTIONS: Readonly<Options.AssertExchange> = Object.freeze({ durable: true, autoDelete: false });

/** Options of the per-subscription queues: private to the connection, gone with it. */
export const PRIVATE_QUEUE_OPTIONS: Readonly<Options.AssertQueue> = Object.freeze({ exclusive: true, autoDelete: true, durable: false });

let replySequence = 0;

/** A fresh reply queue name for `identity` in `collective`: `<collective>.reply.<identity>_<pid>.<seq>.<random>`. */
export function replyQueueName(collective: string, identity: string): string {
  replySequence += 1;
  return `${collective}.reply.${identity}_${process.pid}.${replySequence}.${randomBytes(4).toString('hex')}`;
}

/** Header carrying the absolute expiry (ms since the epoch, publisher's clock) so receivers can drop late messages too. */
export const EXPIRES_HEADER = 'mc_expires';

/** Header carrying the publisher's identity. */
export const SENDER_HEADER = 'mc_sender';

/** What publish properties are built from. */
export interface PublishPropertiesInput {
  identity: string;
  /** Seconds the message is valid. */
  ttl: number;
  /** Seconds added to the TTL (clock-skew allowance). */
  graceSeconds: number;
  replyTo?: string;
  /** Ask the broker to return the message when no queue receives it. */
  mandatory: boolean;
  /** Milliseconds since the epoch (injectable for tests). */
  now?: number;
}

/** The AMQP properties of an outgoing message: `expiration` = (ttl + grace) * 1000 ms, `mc_sender`, `mc_expires`. */
export function publishProperties(input: PublishPropertiesInput): Options.Publish {
  const now = input.now ?? Date.now();
  const lifetimeMs = Math.max(1, Math.round((input.ttl + input.graceSeconds) * 1000));
  const properties: Options.Publish = {
    expiration: String(lifetimeMs),
    timestamp: Math.floor(now / 1000),
    contentType: 'application/octet-stream',
    deliveryMode: 1,
    mandatory: input.mandatory,
    headers: { [SENDER_HEADER]: input.identity, [EXPIRES_HEADER]: String(now + lifetimeMs) },
  };
  if (input.replyTo !== undefined) properties.replyTo = input.replyTo;
  return properties;
}

/** A delivery as a connector handler sees it, plus its expiry when the publisher stated one. */
export interface ParsedDelivery {
  message: InboundMessage;
  /** Milliseconds since the epoch, from `mc_expires`; undefined when absent or unparseable. */
  expiresAt: number | undefined;
}

/** Turns an amqplib delivery into an InboundMessage; header values become strings. */
export function parseDelivery(delivery: ConsumeMessage): ParsedDelivery {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(delivery.properties.headers ?? {})) {
    if (value === undefined || value === null) continue;
    headers[name] = Buffer.isBuffer(value) ? value.toString('utf8') : typeof value === 'object' ? JSON.stringify(value) : String(value);
  }
  headers.exchange = delivery.fields.exchange;
  headers['routing-key'] = delivery.fields.routingKey;
  if (delivery.properties.expiration !== undefined) headers.expiration = String(delivery.properties.expiration);
  const replyTo = delivery.properties.replyTo as string | undefined;
  if (replyTo) headers['reply-to'] = replyTo;

  const message: InboundMessage = { body: delivery.content, headers };
  if (replyTo) message.replyTo = replyTo;
  if (headers[SENDER_HEADER] !== undefined) message.sender = headers[SENDER_HEADER];
  const expires = headers[EXPIRES_HEADER] === undefined ? Number.NaN : Number(headers[EXPIRES_HEADER]);
  return { message, expiresAt: Number.isFinite(expires) ? expires : undefined };
}
