/**
 * What the fleet bench's processes tell each other: the run's connector settings, the servers' and the client's
 * part of the work, and what they report back (over the IPC channel of child_process.fork).
 */
import type { FleetPair } from './fleet-keys.js';

/** Connectors the fleet bench can run over (nats once its plugin is installed). */
export const FLEET_CONNECTORS = ['amqp', 'nats'] as const;
/** One of FLEET_CONNECTORS. */
export type FleetConnector = (typeof FLEET_CONNECTORS)[number];

/** Reply encryption modes of aes_security. */
export type ReplyMode = 'rsa' | 'ephemeral';

/** Where the broker of a run listens. */
export interface BrokerEndpoint {
  host: string;
  port: number;
  user?: string;
  password?: string;
}

/** The `connector` and `plugin.<connector>.*` settings of every process of a run. */
export function connectorSettings(connector: FleetConnector, broker: BrokerEndpoint): Record<string, string | number> {
  if (connector === 'amqp') {
    return {
      connector, 'plugin.amqp.host': broker.host, 'plugin.amqp.port': broker.port, 'plugin.amqp.user': broker.user ?? 'guest',
      'plugin.amqp.password': broker.password ?? 'guest', 'plugin.amqp.connect_timeout': 60, 'plugin.amqp.publish_timeout': 60,
    };
  }
  const settings: Record<string, string | number> = {
    connector, 'plugin.nats.pool.size': 1, 'plugin.nats.pool.1.host': broker.host, 'plugin.nats.pool.1.port': broker.port,
  };
  if (broker.user !== undefined) settings['plugin.nats.pool.1.user'] = broker.user;
  if (broker.password !== undefined) settings['plugin.nats.pool.1.password'] = broker.password;
  return settings;
}

/** The part of the fleet one server process starts. */
export interface ServersSpec {
  collective: string;
  connector: Record<string, string | number>;
  nodes: FleetPair[];
  /** Trust directory holding the client's public key. */
  clientCertDir: string;
  runDir: string;
  /**
   * The daemons' statedir (replay journals). On tmpfs when the host has one: the virtual servers share one host,
   * and each daemon's once-a-second fdatasync of its journal, synchronous, would add up to seconds per process.
   */
  stateDir: string;
  /** The daemons' log level (info, as in production, unless asked otherwise). */
  loglevel: string;
}

/** What the client process does. */
export interface ClientSpec {
  collective: string;
  connector: Record<string, string | number>;
  client: FleetPair;
  /** Trust directory holding every server's public key. */
  serverCertDir: string;
  /** The identities expected to answer. */
  nodes: string[];
  mode: ReplyMode;
  rounds: number;
  timeoutMs: number;
  runDir: string;
  /** Profile an extra round and report the share of key resolution. */
  profile: boolean;
  /** Where to write that round's CPU profile (a .cpuprofile file), if anywhere. */
  profileOut?: string;
}

/** One measured broadcast. */
export interface RoundResult {
  wall_ms: number;
  cpu_ms: number;
  replies: number;
}

/** What the client process reports. */
export interface ClientResult {
  rounds: RoundResult[];
  /** The unmeasured warm-up rounds; the first is cold (every server key parsed, nothing compiled yet). */
  warm_up: RoundResult[];
  /** Problems with the replies (missing, failed, unproven senders); empty when every reply verified. */
  problems: string[];
  floor_cpu_ms_per_reply: number;
  /** From the profile of the measured rounds, when asked: CPU ms per reply spent resolving server keys. */
  key_resolution_ms_per_reply?: number;
  rss_mb: number;
}

/** Messages of the server processes. */
export type ServersMessage = { type: 'ready'; started: number; rss_mb: number } | { type: 'stopped' } | { type: 'error'; message: string };

/** The median of `values` (NaN when empty). */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  if (sorted.length === 0) return Number.NaN;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}
