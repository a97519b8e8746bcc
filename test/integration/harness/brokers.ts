/**
 * Broker control for the integration tests: where the brokers of scripts/brokers.sh listen, the
 * credentials it sets up, reachability gates (tests skipped with the reason locally, failing under
 * CI=true), and stop/start/restart through the script (run asynchronously, so connectors keep
 * running and notice the outage).
 */
import { execFile } from 'node:child_process';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';
import { probeRepeatedly, serviceGate, type ServiceGate } from '../../harness/gate.js';

/** The brokers scripts/brokers.sh manages. */
export type BrokerName = 'activemq' | 'rabbitmq';

/** Where a broker listens (loopback; see docs/brokers.md). */
export interface BrokerEndpoint {
  host: string;
  stompPort: number;
  /** RabbitMQ's AMQP port (used to declare exchanges). */
  amqpPort?: number;
}

/** The endpoints scripts/brokers.sh configures; ports can be moved with the same env variables as the script. */
export const BROKERS: Readonly<Record<BrokerName, BrokerEndpoint>> = Object.freeze({
  rabbitmq: { host: '127.0.0.1', stompPort: Number(process.env.RABBITMQ_STOMP_PORT ?? 61613), amqpPort: 5672 },
  activemq: { host: '127.0.0.1', stompPort: Number(process.env.ACTIVEMQ_STOMP_PORT ?? 61614) },
});

/** The STOMP user the script creates on both brokers (STOMP_USER / STOMP_PASSWORD override it there too). */
export const STOMP_CREDENTIALS = Object.freeze({
  user: process.env.STOMP_USER ?? 'mcollective',
  password: process.env.STOMP_PASSWORD ?? 'marionette',
});

/** Whether something accepts TCP connections on host:port within `timeoutMs`. */
export function tcpReachable(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (result: boolean): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** Whether `broker` accepts STOMP (and, for RabbitMQ, AMQP) connections right now. */
export async function brokerReachable(broker: BrokerName): Promise<boolean> {
  const endpoint = BROKERS[broker];
  const ports = [endpoint.stompPort, ...(endpoint.amqpPort ? [endpoint.amqpPort] : [])];
  const results = await Promise.all(ports.map((port) => tcpReachable(endpoint.host, port)));
  return results.every(Boolean);
}

/** scripts/brokers.sh in this checkout (from dist/test/integration/harness/). */
export const BROKERS_SCRIPT = fileURLToPath(new URL('../../../../scripts/brokers.sh', import.meta.url));

/** Runs `scripts/brokers.sh <action> <broker>`; rejects with the script's output when it fails. */
export function brokerControl(action: 'start' | 'stop' | 'restart' | 'status', broker: BrokerName): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('bash', [BROKERS_SCRIPT, action, broker], { timeout: 300_000, env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } }, (error, stdout, stderr) => {
      if (error) reject(new Error(`scripts/brokers.sh ${action} ${broker} failed: ${error.message}\n${stdout}${stderr}`));
      else resolve(stdout);
    });
  });
}

/** Stops `broker`, waits `downMs` so every client notices, and starts it again. */
export async function restartBroker(broker: BrokerName, downMs = 500): Promise<void> {
  await brokerControl('stop', broker);
  await new Promise((resolve) => setTimeout(resolve, downMs));
  await brokerControl('start', broker);
}

/** How to start the brokers, for the "not reachable" lines. */
const START_HINT = 'start it with: sudo bash scripts/brokers.sh start (npm test does this when run as root)';

/**
 * The gate of the tests that need `broker` (its STOMP port and, for RabbitMQ, AMQP), probed once when the
 * test file loads: call it with top-level await before declaring the tests.
 */
export async function brokerGate(broker: BrokerName): Promise<ServiceGate> {
  const endpoint = BROKERS[broker];
  const where = [`STOMP ${endpoint.host}:${endpoint.stompPort}`, ...(endpoint.amqpPort ? [`AMQP ${endpoint.host}:${endpoint.amqpPort}`] : [])].join(', ');
  const up = await probeRepeatedly(() => brokerReachable(broker));
  return serviceGate(`${broker === 'rabbitmq' ? 'RabbitMQ' : 'ActiveMQ'} (${where})`, up ? undefined : 'is not reachable', START_HINT);
}

/** The gate of the tests that use RabbitMQ over AMQP only (127.0.0.1:5672). */
export async function amqpGate(): Promise<ServiceGate> {
  const port = BROKERS.rabbitmq.amqpPort!;
  const up = await probeRepeatedly(() => tcpReachable(BROKERS.rabbitmq.host, port));
  return serviceGate(`RabbitMQ AMQP (${BROKERS.rabbitmq.host}:${port})`, up ? undefined : 'is not reachable', START_HINT);
}

/** Settings (`plugin.<broker>.*`) for a connector to the local `broker`, tuned for tests; `extra` overrides. */
export function stompTestSettings(broker: BrokerName, extra: Record<string, string | number | boolean> = {}): Record<string, string | number | boolean> {
  const endpoint = BROKERS[broker];
  const prefix = `plugin.${broker}.`;
  const settings: Record<string, string | number | boolean> = {
    [`${prefix}pool.size`]: 1,
    [`${prefix}pool.1.host`]: endpoint.host,
    [`${prefix}pool.1.port`]: endpoint.stompPort,
    [`${prefix}pool.1.user`]: STOMP_CREDENTIALS.user,
    [`${prefix}pool.1.password`]: STOMP_CREDENTIALS.password,
    // Fast recovery in tests: reconnect within a second of the broker's return.
    [`${prefix}initial_reconnect_delay`]: 0.05,
    [`${prefix}max_reconnect_delay`]: 1,
    [`${prefix}heartbeat_interval`]: 5,
    [`${prefix}allow_short_heartbeat`]: true,
    [`${prefix}connect_timeout`]: 5,
  };
  if (endpoint.amqpPort !== undefined) settings[`${prefix}amqp_port`] = endpoint.amqpPort;
  for (const [key, value] of Object.entries(extra)) settings[key.startsWith('plugin.') ? key : `${prefix}${key}`] = value;
  return settings;
}
