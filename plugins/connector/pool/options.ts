/**
 * The broker pool settings every connector shares (`plugin.<name>.pool.*`, reconnect and
 * heartbeat options, MCollective 2.x names and defaults), their schema declarations, and the
 * reader that turns a ConfigView into checked PoolOptions plus a list of every problem.
 */
import { existsSync } from 'node:fs';
import type { ConfigView, SettingSpec } from '../../../src/inter/config.js';
import type { ConnectorRole } from '../../../src/inter/connector.js';
import type { Counters, Logger } from '../../../src/inter/logger.js';
import { readMaxMessageSize } from '../common/limits.js';
import { type ReconnectPolicy, validateReconnectPolicy } from './backoff.js';

/** One broker of the pool (`pool.N.*`). */
export interface PoolHost {
  /** N in `pool.N.host` (1-based), for messages. */
  index: number;
  host: string;
  port: number;
  user?: string;
  password?: string;
  ssl: boolean;
  /** PEM client certificate, key and CA bundle paths (`pool.N.ssl.cert|key|ca`). */
  sslCert?: string;
  sslKey?: string;
  sslCa?: string;
}

/** The checked pool settings of one connector. */
export interface PoolOptions {
  hosts: PoolHost[];
  /** Shuffle the pool before each connection cycle instead of trying hosts in order. */
  randomize: boolean;
  reconnect: ReconnectPolicy;
  /** Heartbeat interval in milliseconds; 0 disables heartbeats. */
  heartbeatMs: number;
  /** How long a publish waits for a (re)connection before failing with PublishError, in ms. */
  publishTimeoutMs: number;
  /** How long one connection attempt may take, in ms. */
  connectTimeoutMs: number;
  /** The virtual host (STOMP `host` header, AMQP vhost). */
  vhost: string;
  /** Bytes: the largest message body sent or accepted (the top-level `max_message_size`). */
  maxMessageSize: number;
}

/** The result of reading pool settings: usable options (with defaults), problems, and warnings. */
export interface PoolOptionsResult {
  options: PoolOptions;
  /** Every configuration problem; the connector must refuse to connect when non-empty. */
  problems: string[];
  /** Accepted-but-adjusted settings (for example a heartbeat raised to the minimum). */
  warnings: string[];
}

/** MCollective's minimum heartbeat interval, in seconds. */
export const MIN_HEARTBEAT_SECONDS = 30;

/** Parameters of a connector's pool settings. */
export interface PoolSettingDefaults {
  /** Broker port when `pool.N.port` is absent (61613 for STOMP, 5672 for AMQP). */
  port: number;
  /** Virtual host when `vhost` is absent. */
  vhost: string;
}

/**
 * The declarations of the shared pool keys, relative to `plugin.<name>.`; spread them into a
 * connector's ConfigSchema. `N` stands for the 1-based pool index.
 */
export function poolSettingSpecs(defaults: PoolSettingDefaults): Record<string, SettingSpec> {
  return {
    'pool.size': { type: 'integer', default: 1, min: 1, doc: 'Number of brokers in the pool (pool.1 .. pool.N).' },
    'pool.N.host': { type: 'string', doc: 'Host name or address of broker N (required).' },
    'pool.N.port': { type: 'integer', default: defaults.port, min: 1, max: 65535, doc: `Port of broker N (default ${defaults.port}).` },
    'pool.N.user': { type: 'string', doc: 'User name for broker N; env STOMP_USER overrides it for STOMP connectors.' },
    'pool.N.password': { type: 'string', doc: 'Password for broker N; env STOMP_PASSWORD overrides it for STOMP connectors.' },
    'pool.N.ssl': { type: 'boolean', default: false, doc: 'Connect to broker N over TLS.' },
    'pool.N.ssl.cert': { type: 'path', doc: 'PEM client certificate for TLS to broker N (needs ssl.key).' },
    'pool.N.ssl.key': { type: 'path', doc: 'PEM private key of the client certificate for broker N (needs ssl.cert).' },
    'pool.N.ssl.ca': { type: 'path', doc: 'PEM CA bundle that must have signed broker N\'s certificate (system CAs when absent).' },
    initial_reconnect_delay: { type: 'number', default: 0.01, min: 0, doc: 'Seconds before the first reconnect attempt.' },
    max_reconnect_delay: { type: 'number', default: 30, min: 0, doc: 'Upper bound of the reconnect delay, in seconds.' },
    use_exponential_back_off: { type: 'boolean', default: true, doc: 'Multiply the reconnect delay by back_off_multiplier after each failure.' },
    back_off_multiplier: { type: 'number', default: 2, min: 1, doc: 'Growth factor of the reconnect delay.' },
    max_reconnect_attempts: { type: 'integer', default: 0, min: 0, doc: 'Give up after this many failed attempts in a row (0 = forever).' },
    randomize: { type: 'boolean', default: false, doc: 'Try the pool\'s brokers in random order.' },
    heartbeat_interval: {
      type: 'number', default: MIN_HEARTBEAT_SECONDS, min: 0,
      doc: `Heartbeat interval in seconds (0 = off); values below ${MIN_HEARTBEAT_SECONDS} are raised to ${MIN_HEARTBEAT_SECONDS} with a warning unless allow_short_heartbeat is set.`,
    },
    allow_short_heartbeat: {
      type: 'boolean', default: false,
      doc: `Honour a heartbeat_interval below ${MIN_HEARTBEAT_SECONDS} s (for tests; brokers may drop busy clients).`,
    },
    publish_timeout: { type: 'number', default: 10, min: 0, doc: 'Seconds a publish waits for a (re)connection before failing.' },
    connect_timeout: {
      type: 'number', default: 10, min: 0.1,
      doc: 'Seconds one connection attempt may take; a client (tsco) gives up connecting after this long in total (or its -t, when shorter).',
    },
    vhost: { type: 'string', default: defaults.vhost, doc: `Virtual host (default ${JSON.stringify(defaults.vhost)}).` },
  };
}

/** Where credentials come from besides the configuration file. */
export interface PoolReadOptions extends PoolSettingDefaults {
  /** Environment variables overriding every pool.N.user / pool.N.password (STOMP_USER / STOMP_PASSWORD). */
  userEnv?: string;
  passwordEnv?: string;
  /** The environment to read them from; process.env when absent. */
  env?: Readonly<Record<string, string | undefined>>;
}

/**
 * Reads `<prefix>pool.*` and the reconnect/heartbeat settings from `config` (prefix such as
 * `plugin.activemq.`). Never throws on bad values: every problem is returned in `problems`.
 */
export function readPoolOptions(config: ConfigView, prefix: string, read: PoolReadOptions): PoolOptionsResult {
  const problems: string[] = [];
  const warnings: string[] = [];
  const key = (name: string): string => `${prefix}${name}`;

  const number = (name: string, fallback: number): number => {
    const raw = config.raw(key(name));
    if (!config.has(key(name)) || raw === undefined) return fallback;
    const value = Number(raw.trim());
    if (raw.trim() === '' || !Number.isFinite(value)) {
      problems.push(`${key(name)} (${config.origin(key(name))}) must be a number, got ${JSON.stringify(raw)}`);
      return fallback;
    }
    return value;
  };
  const integer = (name: string, fallback: number): number => {
    const value = number(name, fallback);
    if (!Number.isInteger(value)) {
      problems.push(`${key(name)} (${config.origin(key(name))}) must be an integer, got ${value}`);
      return fallback;
    }
    return value;
  };
  const boolean = (name: string, fallback: boolean): boolean => {
    const raw = config.raw(key(name));
    if (!config.has(key(name)) || raw === undefined) return fallback;
    const text = raw.trim().toLowerCase();
    if (['1', 'true', 'yes', 'y', 'on'].includes(text)) return true;
    if (['0', 'false', 'no', 'n', 'off'].includes(text)) return false;
    problems.push(`${key(name)} (${config.origin(key(name))}) must be a boolean (1/0, true/false, yes/no), got ${JSON.stringify(raw)}`);
    return fallback;
  };
  const string = (name: string): string | undefined => {
    if (!config.has(key(name))) return undefined;
    const value = config.raw(key(name))?.trim();
    return value === undefined || value === '' ? undefined : value;
  };

  const env = read.env ?? process.env;
  const envUser = read.userEnv ? env[read.userEnv] : undefined;
  const envPassword = read.passwordEnv ? env[read.passwordEnv] : undefined;

  const size = integer('pool.size', 1);
  if (size < 1) problems.push(`${key('pool.size')} must be >= 1, got ${size}`);
  const hosts: PoolHost[] = [];
  for (let n = 1; n <= Math.max(size, 0) && n <= 1000; n++) {
    const host = string(`pool.${n}.host`);
    if (host === undefined) problems.push(`${key(`pool.${n}.host`)} is missing (${key('pool.size')} is ${size})`);
    const port = integer(`pool.${n}.port`, read.port);
    if (port < 1 || port > 65535) problems.push(`${key(`pool.${n}.port`)} must be between 1 and 65535, got ${port}`);
    const entry: PoolHost = { index: n, host: host ?? '', port, ssl: boolean(`pool.${n}.ssl`, false) };
    const user = envUser ?? string(`pool.${n}.user`);
    const password = envPassword ?? string(`pool.${n}.password`);
    if (user !== undefined) entry.user = user;
    if (password !== undefined) entry.password = password;
    for (const [field, name] of [['sslCert', 'cert'], ['sslKey', 'key'], ['sslCa', 'ca']] as const) {
      const path = string(`pool.${n}.ssl.${name}`);
      if (path === undefined) continue;
      entry[field] = path;
      if (!entry.ssl) problems.push(`${key(`pool.${n}.ssl.${name}`)} is set but ${key(`pool.${n}.ssl`)} is not enabled`);
      if (!existsSync(path)) problems.push(`${key(`pool.${n}.ssl.${name}`)}: file ${path} does not exist`);
    }
    if ((entry.sslCert === undefined) !== (entry.sslKey === undefined)) {
      problems.push(`${key(`pool.${n}.ssl.cert`)} and ${key(`pool.${n}.ssl.key`)} must be set together`);
    }
    hosts.push(entry);
  }

  const reconnect: ReconnectPolicy = {
    initialDelayMs: number('initial_reconnect_delay', 0.01) * 1000,
    maxDelayMs: number('max_reconnect_delay', 30) * 1000,
    exponential: boolean('use_exponential_back_off', true),
    multiplier: number('back_off_multiplier', 2),
    maxAttempts: integer('max_reconnect_attempts', 0),
  };
  problems.push(...validateReconnectPolicy(reconnect).map((p) => `${prefix}${p}`));

  let heartbeat = number('heartbeat_interval', MIN_HEARTBEAT_SECONDS);
  const allowShort = boolean('allow_short_heartbeat', false);
  if (heartbeat < 0) {
    problems.push(`${key('heartbeat_interval')} must be >= 0 (0 = off), got ${heartbeat}`);
    heartbeat = MIN_HEARTBEAT_SECONDS;
  } else if (heartbeat > 0 && heartbeat < MIN_HEARTBEAT_SECONDS && !allowShort) {
    warnings.push(`${key('heartbeat_interval')} ${heartbeat} s is below the minimum of ${MIN_HEARTBEAT_SECONDS} s; using ${MIN_HEARTBEAT_SECONDS} s (set ${key('allow_short_heartbeat')} = 1 to keep it)`);
    heartbeat = MIN_HEARTBEAT_SECONDS;
  }

  const publishTimeout = number('publish_timeout', 10);
  if (publishTimeout < 0) problems.push(`${key('publish_timeout')} must be >= 0, got ${publishTimeout}`);
  const connectTimeout = number('connect_timeout', 10);
  if (!(connectTimeout > 0)) problems.push(`${key('connect_timeout')} must be > 0, got ${connectTimeout}`);
  const vhost = string('vhost') ?? read.vhost;

  return {
    options: {
      hosts,
      randomize: boolean('randomize', false),
      reconnect,
      heartbeatMs: Math.round(heartbeat * 1000),
      publishTimeoutMs: Math.max(0, Math.round(publishTimeout * 1000)),
      connectTimeoutMs: Math.max(1, Math.round(connectTimeout * 1000)),
      vhost,
      maxMessageSize: readMaxMessageSize(config, problems),
    },
    problems,
    warnings,
  };
}

/** What every broker connector (amqp, stomp) is built from besides its own options. */
export interface BrokerConnectorInit {
  /** This node's identity, sent as `mc_sender`. */
  identity: string;
  logger: Logger;
  counters: Counters;
  /** Problems found while reading the configuration; validate() reports them and connect() refuses. */
  configProblems?: readonly string[];
  /** Accepted-but-adjusted settings (for example a heartbeat raised to the minimum), logged once at connect. */
  configWarnings?: readonly string[];
  /** Who the connector serves (ConnectorContext.role); `daemon` when absent. */
  role?: ConnectorRole;
  /** A client's connect budget in ms when lower than connect_timeout (ConnectorContext.connectBudgetMs). */
  connectBudgetMs?: number;
}

/** RabbitMQ's AMQP port, used by the amqp connector and by the STOMP rabbitmq connector to declare exchanges. */
export const DEFAULT_AMQP_PORT = 5672;

/**
 * Seconds every connector adds to a message's TTL before the broker drops it, as MCollective's connectors do
 * (`expiration` / `expires` = ttl + 10 s): tolerates clock skew between publisher and receiver.
 */
export const TTL_GRACE_SECONDS = 10;
