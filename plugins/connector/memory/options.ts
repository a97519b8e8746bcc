/**
 * Settings of the memory connector (`plugin.memory.*`): which in-process broker to join, the TTL grace
 * added to every message's expiry, and how long publishes and connects wait for a stopped broker.
 */
import type { ConfigSchema, ConfigView } from '../../../src/inter/config.js';
import { DEFAULT_MAX_MESSAGE_SIZE, MAX_MAX_MESSAGE_SIZE, MIN_MAX_MESSAGE_SIZE, readMaxMessageSize, validMaxMessageSize } from '../common/limits.js';

/** The checked settings of a memory connector. */
export interface MemoryOptions {
  /** Name of the process-wide MemoryBroker to join (`MemoryBroker.named`). */
  broker: string;
  /** Seconds added to a message's TTL before the broker drops it (MCollective's rabbitmq adds 10). */
  ttlGraceSeconds: number;
  /** How long a publish waits for the broker to come back before failing with PublishError, in ms. */
  publishTimeoutMs: number;
  /** How long connect() waits for a stopped broker before failing with ConnectionError, in ms. */
  connectTimeoutMs: number;
  /** Bytes: the largest body published or delivered (the top-level `max_message_size`). */
  maxMessageSize: number;
}

/** The defaults: the `default` broker, no grace (an in-process bus has no clock skew), 10 s waits. */
export const DEFAULT_MEMORY_OPTIONS: Readonly<MemoryOptions> = Object.freeze({
  broker: 'default',
  ttlGraceSeconds: 0,
  publishTimeoutMs: 10_000,
  connectTimeoutMs: 10_000,
  maxMessageSize: DEFAULT_MAX_MESSAGE_SIZE,
});

/** The `plugin.memory.*` keys, for registerConfigSchema. */
export const memoryConfigSchema: ConfigSchema = {
  namespace: 'memory',
  keys: {
    broker: { type: 'string', default: 'default', doc: 'Name of the in-process broker to join; connectors with the same name share it.' },
    ttl_grace: { type: 'number', default: 0, min: 0, doc: 'Seconds added to each message\'s TTL before the broker drops it undelivered.' },
    publish_timeout: { type: 'number', default: 10, min: 0, doc: 'Seconds a publish waits for a stopped broker before failing.' },
    connect_timeout: { type: 'number', default: 10, min: 0, doc: 'Seconds connect() waits for a stopped broker before failing (a client gives up after this long in total, or its -t).' },
  },
};

/** Every problem of a set of memory options (empty when usable). */
export function validateMemoryOptions(options: MemoryOptions): string[] {
  const problems: string[] = [];
  if (typeof options.broker !== 'string' || !/^[A-Za-z0-9_.-]+$/.test(options.broker)) {
    problems.push(`plugin.memory.broker must be letters, digits, _ . - (got ${JSON.stringify(options.broker)})`);
  }
  const seconds = (name: string, value: number, inMs: boolean): void => {
    if (!Number.isFinite(value) || value < 0) problems.push(`plugin.memory.${name} must be a number of seconds >= 0, got ${inMs ? value / 1000 : value}`);
  };
  seconds('ttl_grace', options.ttlGraceSeconds, false);
  seconds('publish_timeout', options.publishTimeoutMs, true);
  seconds('connect_timeout', options.connectTimeoutMs, true);
  if (!validMaxMessageSize(options.maxMessageSize)) {
    problems.push(`max_message_size must be an integer between ${MIN_MAX_MESSAGE_SIZE} and ${MAX_MAX_MESSAGE_SIZE} bytes, got ${options.maxMessageSize}`);
  }
  return problems;
}

/** Reads `plugin.memory.*` from a configuration; never throws, returns every problem. */
export function readMemoryOptions(config: ConfigView): { options: MemoryOptions; problems: string[] } {
  const problems: string[] = [];
  const seconds = (name: string, fallback: number): number => {
    const key = `plugin.memory.${name}`;
    const raw = config.has(key) ? config.raw(key) : undefined;
    if (raw === undefined) return fallback;
    const value = Number(raw.trim());
    if (raw.trim() === '' || !Number.isFinite(value) || value < 0) {
      problems.push(`${key} (${config.origin(key)}) must be a number of seconds >= 0, got ${JSON.stringify(raw)}`);
      return fallback;
    }
    return value;
  };
  const broker = (config.has('plugin.memory.broker') ? config.raw('plugin.memory.broker')?.trim() : undefined) || DEFAULT_MEMORY_OPTIONS.broker;
  const options: MemoryOptions = {
    broker,
    ttlGraceSeconds: seconds('ttl_grace', DEFAULT_MEMORY_OPTIONS.ttlGraceSeconds),
    publishTimeoutMs: Math.round(seconds('publish_timeout', DEFAULT_MEMORY_OPTIONS.publishTimeoutMs / 1000) * 1000),
    connectTimeoutMs: Math.round(seconds('connect_timeout', DEFAULT_MEMORY_OPTIONS.connectTimeoutMs / 1000) * 1000),
    maxMessageSize: readMaxMessageSize(config, problems),
  };
  problems.push(...validateMemoryOptions(options).filter((p) => !p.includes('seconds') && !p.startsWith('max_message_size')));
  return { options, problems };
}
