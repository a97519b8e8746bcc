/**
 * Settings of the STOMP connectors (`plugin.activemq.*`, `plugin.rabbitmq.*`): the shared pool,
 * reconnect and heartbeat keys of plugins/connector/pool, plus the RabbitMQ-only keys
 * (`use_reply_exchange`, `amqp_port`, `declare_exchanges`). MCollective 2.x names and defaults.
 */
import type { ConfigSchema, ConfigView } from '../../../src/inter/config.js';
import { DEFAULT_AMQP_PORT, TTL_GRACE_SECONDS, type PoolOptions, poolSettingSpecs, readPoolOptions } from '../pool/options.js';
export { DEFAULT_AMQP_PORT, TTL_GRACE_SECONDS };

/** The two STOMP brokers MCollective supports, each with its own destination naming. */
export type StompFlavor = 'activemq' | 'rabbitmq';

/** Default STOMP port of MCollective's pool.N.port. */
export const DEFAULT_STOMP_PORT = 61613;


/** The checked settings of one STOMP connector. */
export interface StompOptions extends PoolOptions {
  flavor: StompFlavor;
  /** RabbitMQ: replies through `/exchange/mcollective_reply/...` instead of `/temp-queue/...`. */
  useReplyExchange: boolean;
  /** RabbitMQ: declare the collective's exchanges through AMQP when missing. */
  declareExchanges: boolean;
  /** RabbitMQ: the AMQP port on the connected pool host used to declare exchanges. */
  amqpPort: number;
}

/** The virtual host each flavor uses by default (MCollective: `mcollective` on ActiveMQ, `/` on RabbitMQ). */
export const DEFAULT_VHOST: Readonly<Record<StompFlavor, string>> = Object.freeze({ activemq: 'mcollective', rabbitmq: '/' });

/** The `plugin.<flavor>.*` schema, for registerConfigSchema. */
export function stompConfigSchema(flavor: StompFlavor): ConfigSchema {
  const keys = poolSettingSpecs({ port: DEFAULT_STOMP_PORT, vhost: DEFAULT_VHOST[flavor] });
  if (flavor === 'rabbitmq') {
    keys.use_reply_exchange = {
      type: 'boolean', default: false,
      doc: 'Receive replies through the mcollective_reply exchange (/exchange/mcollective_reply/<identity>_<pid>_<seq>) instead of a /temp-queue.',
    };
    keys.declare_exchanges = {
      type: 'boolean', default: true,
      doc: 'Daemons declare <collective>_broadcast (topic) and <collective>_directed (direct) through AMQP when missing (STOMP cannot); clients never do.',
    };
    keys.amqp_port = { type: 'integer', default: DEFAULT_AMQP_PORT, min: 1, max: 65535, doc: 'AMQP port of the pool hosts, used to declare exchanges.' };
  }
  return { namespace: flavor, keys };
}

/** The registered schemas of both flavors (one object each, so registering them twice is harmless). */
export const STOMP_CONFIG_SCHEMAS: Readonly<Record<StompFlavor, ConfigSchema>> = Object.freeze({
  activemq: stompConfigSchema('activemq'),
  rabbitmq: stompConfigSchema('rabbitmq'),
});

/** Reads `plugin.<flavor>.*`; never throws, returns every problem and warning. */
export function readStompOptions(config: ConfigView, flavor: StompFlavor): { options: StompOptions; problems: string[]; warnings: string[] } {
  const prefix = `plugin.${flavor}.`;
  const pool = readPoolOptions(config, prefix, {
    port: DEFAULT_STOMP_PORT,
    vhost: DEFAULT_VHOST[flavor],
    userEnv: 'STOMP_USER',
    passwordEnv: 'STOMP_PASSWORD',
  });
  const problems = [...pool.problems];
  const flag = (name: string, fallback: boolean): boolean => {
    const key = `${prefix}${name}`;
    const raw = config.has(key) ? config.raw(key)?.trim().toLowerCase() : undefined;
    if (raw === undefined) return fallback;
    if (['1', 'true', 'yes', 'y', 'on'].includes(raw)) return true;
    if (['0', 'false', 'no', 'n', 'off'].includes(raw)) return false;
    problems.push(`${key} (${config.origin(key)}) must be a boolean (1/0, true/false, yes/no), got ${JSON.stringify(config.raw(key))}`);
    return fallback;
  };
  let amqpPort = DEFAULT_AMQP_PORT;
  const amqpKey = `${prefix}amqp_port`;
  if (config.has(amqpKey)) {
    const raw = config.raw(amqpKey) ?? '';
    const value = Number(raw.trim());
    if (!Number.isInteger(value) || value < 1 || value > 65535) problems.push(`${amqpKey} (${config.origin(amqpKey)}) must be a port number (1-65535), got ${JSON.stringify(raw)}`);
    else amqpPort = value;
  }
  const options: StompOptions = {
    ...pool.options,
    flavor,
    useReplyExchange: flavor === 'rabbitmq' && flag('use_reply_exchange', false),
    declareExchanges: flavor === 'rabbitmq' && flag('declare_exchanges', true),
    amqpPort,
  };
  if (flavor === 'activemq') {
    for (const key of ['use_reply_exchange', 'declare_exchanges', 'amqp_port']) {
      if (config.has(`${prefix}${key}`)) problems.push(`${prefix}${key} is a RabbitMQ setting; it has no meaning for activemq (did you mean plugin.rabbitmq.${key}?)`);
    }
  }
  return { options, problems, warnings: pool.warnings };
}
