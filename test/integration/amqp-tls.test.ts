/**
 * The AMQP connector over mutual TLS to RabbitMQ (127.0.0.1:5671, verify_peer + fail_if_no_peer_cert),
 * and the STOMP `rabbitmq` connector over RabbitMQ's STOMP TLS listener (127.0.0.1:61615), both set
 * up by harness/rabbitmq-tls.ts (idempotent, no broker restart).
 */
import assert from 'node:assert/strict';
import { describe } from 'node:test';
import { AmqpConnector, createAmqpConnector } from '../../plugins/connector/amqp/index.js';
import { configFromObject } from '../../src/config/index.js';
import { ConnectionError } from '../../src/errors.js';
import type { Connector } from '../../src/inter/connector.js';
import { MemoryCounters } from '../../src/util/counters.js';
import { CapturingLogger } from '../../src/util/log.js';
import { createStompConnector } from '../../plugins/connector/stomp/index.js';
import { probeRepeatedly, serviceGate, type ServiceGate } from '../harness/gate.js';
import { within } from '../harness/wait.js';
import { STOMP_CREDENTIALS } from './harness/brokers.js';
import { AMQPS_PORT, STOMPS_PORT, type TlsMaterial, amqpReachable, setupRabbitTls, stompsReachable } from './harness/rabbitmq-tls.js';

/**
 * The TLS listeners, set up (idempotently) once when the file loads. Their tests are skipped with the reason
 * when RabbitMQ is unreachable or the setup failed, and fail under CI=true.
 */
async function tlsGates(): Promise<{ material: TlsMaterial | undefined; amqps: ServiceGate; stomps: ServiceGate }> {
  const hint = 'start RabbitMQ as root (sudo bash scripts/brokers.sh start rabbitmq); the setup writes /etc/rabbitmq';
  let unavailable: string | undefined;
  let material: TlsMaterial | undefined;
  let stompTlsUp = false;
  if (!(await probeRepeatedly(amqpReachable))) {
    unavailable = 'is not available: RabbitMQ is not reachable on 127.0.0.1:5672';
  } else {
    try {
      material = (await setupRabbitTls()).material;
      stompTlsUp = await stompsReachable();
    } catch (error) {
      unavailable = `is not available: the TLS listeners could not be set up: ${(error as Error).message}`;
    }
  }
  return {
    material,
    amqps: serviceGate(`RabbitMQ AMQPS (127.0.0.1:${AMQPS_PORT})`, unavailable, hint),
    stomps: serviceGate(`RabbitMQ STOMP over TLS (127.0.0.1:${STOMPS_PORT})`,
      unavailable ?? (stompTlsUp ? undefined : 'is not up (is rabbitmq_stomp enabled?)'), hint),
  };
}

const { material, amqps, stomps } = await tlsGates();

function tlsConnector(identity: string, settings: Record<string, string | number | boolean>) {
  const logger = new CapturingLogger();
  const connector = createAmqpConnector({
    config: configFromObject({
      'plugin.amqp.host': '127.0.0.1',
      'plugin.amqp.ssl': true,
      'plugin.amqp.ssl.ca': material!.caCert,
      'plugin.amqp.max_reconnect_attempts': 1,
      'plugin.amqp.connect_timeout': 5,
      'plugin.amqp.ttl_grace': 0,
      ...settings,
    }),
    identity,
    logger,
    counters: new MemoryCounters(),
  });
  return { connector, logger };
}

async function refused(connector: Connector, pattern: RegExp): Promise<ConnectionError> {
  let caught: unknown;
  await connector.connect().catch((error: unknown) => (caught = error));
  assert.ok(caught instanceof ConnectionError, `expected a ConnectionError, got ${String(caught)}`);
  assert.match(caught.message, pattern);
  assert.equal(connector.state, 'disconnected');
  await connector.disconnect();
  return caught;
}

describe('amqp connector over mutual TLS', () => {
  amqps.test('connects with the CA and a client certificate, and messages flow', async () => {
    const settings = { 'plugin.amqp.ssl.cert': material!.clientCert, 'plugin.amqp.ssl.key': material!.clientKey };
    const node = tlsConnector('tls-node.example.net', settings);
    const client = tlsConnector('tls-client.example.net', settings);
    try {
      assert.deepEqual(node.connector.validate(), []);
      await node.connector.connect();
      await client.connector.connect();
      assert.equal((node.connector as AmqpConnector).connectedHost, `127.0.0.1:${AMQPS_PORT} (tls)`);
      let deliver!: (text: string) => void;
      const received = new Promise<string>((resolve) => (deliver = resolve));
      await node.connector.subscribeDirected('tlstest', 'tls-node.example.net', (m) => deliver(`${m.sender}:${Buffer.from(m.body).toString()}`));
      await client.connector.publishRequest({ collective: 'tlstest', agent: 'rpcutil', body: Buffer.from('over tls'), ttl: 30, node: 'tls-node.example.net' });
      assert.equal(await within(received, { timeoutMs: 10_000, what: 'the message over AMQPS' }), 'tls-client.example.net:over tls');
    } finally {
      await node.connector.disconnect();
      await client.connector.disconnect();
    }
  });

  amqps.test('without a client certificate the broker refuses: ConnectionError naming the missing certificate', async () => {
    const { connector, logger } = tlsConnector('tls-nocert.example.net', {});
    await refused(connector, new RegExp(`127\\.0\\.0\\.1:${AMQPS_PORT} \\(tls\\): TLS handshake failed: the broker requires a client certificate`));
    assert.equal(logger.find('error', 'could not connect to any broker').length, 1);
  });

  amqps.test('a client certificate from a CA the broker does not trust is refused', async () => {
    const { connector } = tlsConnector('tls-rogue.example.net', { 'plugin.amqp.ssl.cert': material!.rogueClientCert, 'plugin.amqp.ssl.key': material!.rogueClientKey });
    await refused(connector, /broker does not accept the client certificate/);
  });

  amqps.test('a broker certificate that does not chain to ssl.ca is refused by the client', async () => {
    const { connector } = tlsConnector('tls-wrongca.example.net', {
      'plugin.amqp.ssl.ca': material!.rogueClientCert.replace('rogue-client.pem', 'rogue-ca.pem'),
      'plugin.amqp.ssl.cert': material!.clientCert,
      'plugin.amqp.ssl.key': material!.clientKey,
    });
    await refused(connector, /broker's certificate is not trusted/);
  });
});

function stompTlsConnector(identity: string, settings: Record<string, string | number | boolean>) {
  return createStompConnector('rabbitmq', {
    config: configFromObject({
      'plugin.rabbitmq.pool.1.host': '127.0.0.1',
      'plugin.rabbitmq.pool.1.port': STOMPS_PORT,
      'plugin.rabbitmq.pool.1.ssl': true,
      'plugin.rabbitmq.pool.1.ssl.ca': material!.caCert,
      'plugin.rabbitmq.pool.1.user': STOMP_CREDENTIALS.user,
      'plugin.rabbitmq.pool.1.password': STOMP_CREDENTIALS.password,
      // Exchanges are declared through AMQP on the same host: over TLS too.
      'plugin.rabbitmq.amqp_port': AMQPS_PORT,
      'plugin.rabbitmq.max_reconnect_attempts': 1,
      'plugin.rabbitmq.connect_timeout': 5,
      ...settings,
    }),
    identity,
    logger: new CapturingLogger(),
    counters: new MemoryCounters(),
  });
}

describe('rabbitmq STOMP connector over mutual TLS', () => {
  stomps.test('connects with the CA and a client certificate, and messages flow', async () => {
    const settings = { 'plugin.rabbitmq.pool.1.ssl.cert': material!.clientCert, 'plugin.rabbitmq.pool.1.ssl.key': material!.clientKey };
    const node = stompTlsConnector('stomps-node.example.net', settings);
    const client = stompTlsConnector('stomps-client.example.net', settings);
    try {
      assert.deepEqual(node.validate(), []);
      await node.connect();
      await client.connect();
      let deliver!: (text: string) => void;
      const received = new Promise<string>((resolve) => (deliver = resolve));
      await node.subscribeDirected('stompstls', 'stomps-node.example.net', (m) => deliver(`${m.sender}:${Buffer.from(m.body).toString()}`));
      await client.publishRequest({ collective: 'stompstls', agent: 'rpcutil', body: Buffer.from('stomp over tls'), ttl: 30, node: 'stomps-node.example.net' });
      assert.equal(await within(received, { timeoutMs: 10_000, what: 'the message over STOMP+TLS' }), 'stomps-client.example.net:stomp over tls');
    } finally {
      await node.disconnect();
      await client.disconnect();
    }
  });

  stomps.test('without a client certificate the STOMP TLS listener refuses with ConnectionError', async () => {
    await refused(stompTlsConnector('stomps-nocert.example.net', {}), /certificate/i);
  });
});
