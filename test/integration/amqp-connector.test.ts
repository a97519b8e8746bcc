/**
 * AMQP connector behaviour beyond the conformance suite: settings, message properties, outages
 * (through a TCP proxy this test controls, so RabbitMQ itself is never restarted), failover, confirms.
 */
import assert from 'node:assert/strict';
import { type Server, type Socket, connect as tcpConnect, createServer } from 'node:net';
import { after, describe, test } from 'node:test';
import type { ConsumeMessage } from 'amqplib';
import {
  AmqpConnector, DEFAULT_TTL_GRACE_SECONDS, createAmqpConnector, parseDelivery, publishProperties, readAmqpOptions,
} from '../../plugins/connector/amqp/index.js';
import { configFromObject } from '../../src/config/index.js';
import { ConfigError, ConnectionError, InvalidArgumentError, PublishError } from '../../src/errors.js';
import type { ConfigView } from '../../src/inter/config.js';
import type { ConnectorState, InboundMessage } from '../../src/inter/connector.js';
import { MemoryCounters } from '../../src/util/counters.js';
import { CapturingLogger } from '../../src/util/log.js';
import { within } from '../harness/wait.js';
import { amqpGate } from './harness/brokers.js';

type Settings = Record<string, string | number | boolean>;

/** A ConfigView that skips the config module's validation, to feed the reader bad values. */
function rawSettings(values: Record<string, string>): ConfigView {
  return {
    source: '(test)',
    raw: (key) => values[key],
    string: (key) => values[key],
    boolean: () => false,
    integer: () => 0,
    number: () => 0,
    list: () => [],
    has: (key) => key in values,
    origin: (key) => (key in values ? 'test' : 'default'),
    keys: (prefix = '') => Object.keys(values).filter((k) => k.startsWith(prefix)),
  };
}

function amqpConnector(identity: string, settings: Settings) {
  const logger = new CapturingLogger();
  const counters = new MemoryCounters();
  const connector = createAmqpConnector({
    config: configFromObject({ 'plugin.amqp.initial_reconnect_delay': 0.05, 'plugin.amqp.max_reconnect_delay': 0.2, ...settings }),
    identity,
    logger,
    counters,
  }) as AmqpConnector;
  return { connector, logger, counters };
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function until(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** A TCP proxy to RabbitMQ that can cut every connection and refuse new ones (an outage for its clients only). */
class OutageProxy {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  port = 0;

  async start(): Promise<void> {
    const server = createServer((client) => {
      const upstream = tcpConnect({ host: '127.0.0.1', port: 5672 });
      for (const socket of [client, upstream]) {
        this.sockets.add(socket);
        socket.on('close', () => this.sockets.delete(socket));
        socket.on('error', () => undefined);
      }
      client.pipe(upstream).pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', resolve));
    this.port = (server.address() as { port: number }).port;
    this.server = server;
  }

  /** Drops every proxied connection and stops listening. */
  async cut(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const socket of this.sockets) socket.destroy();
    if (server) await new Promise((resolve) => server.close(resolve));
  }
}

const rabbit = await amqpGate();

describe('amqp settings', () => {
  test('url form: amqps defaults to 5671, credentials and vhost come from the URL', () => {
    const { options, problems } = readAmqpOptions(rawSettings({ 'plugin.amqp.url': 'amqps://mc%40ops:s%2Fcret@broker.example.net/collective%2Fa' }));
    assert.deepEqual(problems, []);
    assert.equal(options.hosts.length, 1);
    assert.deepEqual(
      { ...options.hosts[0] },
      { index: 1, host: 'broker.example.net', port: 5671, ssl: true, user: 'mc@ops', password: 's/cret' },
    );
    assert.equal(options.vhost, 'collective/a');
    assert.equal(options.ttlGraceSeconds, DEFAULT_TTL_GRACE_SECONDS);
  });

  test('pool form with MCollective back-off names', () => {
    const { options, problems } = readAmqpOptions(rawSettings({
      'plugin.amqp.pool.size': '2',
      'plugin.amqp.pool.1.host': 'a.example.net',
      'plugin.amqp.pool.2.host': 'b.example.net',
      'plugin.amqp.pool.2.port': '5673',
      'plugin.amqp.initial_reconnect_delay': '0.5',
      'plugin.amqp.max_reconnect_delay': '8',
      'plugin.amqp.use_exponential_back_off': 'no',
      'plugin.amqp.back_off_multiplier': '3',
      'plugin.amqp.max_reconnect_attempts': '7',
    }));
    assert.deepEqual(problems, []);
    assert.deepEqual(options.hosts.map((h) => `${h.host}:${h.port}`), ['a.example.net:5672', 'b.example.net:5673']);
    assert.deepEqual(options.reconnect, { initialDelayMs: 500, maxDelayMs: 8000, exponential: false, multiplier: 3, maxAttempts: 7 });
  });

  test('every problem is reported at once, and connect() refuses with ConfigError', async () => {
    const config = rawSettings({
      'plugin.amqp.url': 'http://broker',
      'plugin.amqp.host': 'also.example.net',
      'plugin.amqp.ssl.cert': '/nonexistent/client.pem',
      'plugin.amqp.ttl_grace': '-3',
      'plugin.amqp.prefetch': 'lots',
    });
    const { problems } = readAmqpOptions(config);
    const expected = [/only one of url, host\/port\/ssl or pool/, /must start with amqp:\/\/ or amqps:\/\//, /ssl\.cert .*does not exist/, /ttl_grace \(test\) must be a number of seconds >= 0/, /prefetch \(test\) must be an integer/];
    for (const pattern of expected) assert.ok(problems.some((p) => pattern.test(p)), `${pattern} in:\n${problems.join('\n')}`);
    const connector = createAmqpConnector({ config, identity: 'node1', logger: new CapturingLogger(), counters: new MemoryCounters() });
    assert.ok(connector.validate().length >= expected.length);
    await assert.rejects(connector.connect(), ConfigError);
  });

  test('TLS files belong to url/host, not to the pool form', () => {
    const { problems } = readAmqpOptions(rawSettings({ 'plugin.amqp.pool.1.host': 'a', 'plugin.amqp.ssl.ca': '/etc/hostname' }));
    assert.ok(problems.some((p) => /ssl\.ca applies to url or host; with a pool use plugin\.amqp\.pool\.N\.ssl\.ca/.test(p)), problems.join('\n'));
  });
});

describe('amqp message properties', () => {
  test('expiration is (ttl + grace) * 1000 ms, with mc_sender, mc_expires and reply-to', () => {
    const properties = publishProperties({ identity: 'node1', ttl: 60, graceSeconds: 10, replyTo: 'mc.reply.q', mandatory: false, now: 1_700_000_000_000 });
    assert.equal(properties.expiration, '70000');
    assert.equal(properties.replyTo, 'mc.reply.q');
    assert.deepEqual(properties.headers, { mc_sender: 'node1', mc_expires: String(1_700_000_070_000) });
    assert.equal(properties.timestamp, 1_700_000_000);
  });

  test('a delivery becomes an InboundMessage with string headers', () => {
    const delivery = {
      content: Buffer.from([0, 255]),
      fields: { exchange: 'mc_directed', routingKey: 'node1', deliveryTag: 1, redelivered: false, consumerTag: 'c' },
      properties: { headers: { mc_sender: Buffer.from('client1'), mc_expires: '123' }, replyTo: 'q1', expiration: '70000' },
    } as unknown as ConsumeMessage;
    const { message, expiresAt } = parseDelivery(delivery);
    assert.equal(message.sender, 'client1');
    assert.equal(message.replyTo, 'q1');
    assert.equal(expiresAt, 123);
    assert.deepEqual(Buffer.from(message.body), Buffer.from([0, 255]));
    assert.equal(message.headers.exchange, 'mc_directed');
    assert.equal(message.headers.expiration, '70000');
  });
});

describe('amqp connector against RabbitMQ', () => {
  const proxy = new OutageProxy();
  after(() => proxy.cut());

  rabbit.test('bad arguments are refused with an error naming them, counted and logged', async () => {
    const { connector, logger, counters } = amqpConnector('badargs.example.net', { 'plugin.amqp.host': '127.0.0.1' });
    await connector.connect();
    try {
      await assert.rejects(connector.publishRequest({ collective: 'mc', agent: 'rpc*', body: new Uint8Array(), ttl: 5 }), (e: unknown) => e instanceof InvalidArgumentError && /request\.agent/.test(e.message));
      await assert.rejects(connector.publishReply('', new Uint8Array(), 5), (e: unknown) => e instanceof InvalidArgumentError && /replyTo/.test(e.message));
      await assert.rejects(connector.subscribeDirected('mc', 'a/b', () => {}), /identity/);
      assert.equal(counters.get('connector.amqp.invalid_argument'), 3);
      assert.equal(logger.find('warn', 'invalid argument').length, 3);
    } finally {
      await connector.disconnect();
    }
  });

  rabbit.test('the default grace gives expiration (ttl + 10) s; a directed request to nobody is returned and counted', async () => {
    const node = amqpConnector('grace-node.example.net', { 'plugin.amqp.host': '127.0.0.1' });
    const client = amqpConnector('grace-client.example.net', { 'plugin.amqp.host': '127.0.0.1' });
    await node.connector.connect();
    await client.connector.connect();
    try {
      let deliver!: (m: InboundMessage) => void;
      const received = new Promise<InboundMessage>((resolve) => (deliver = resolve));
      await node.connector.subscribeDirected('gracetest', 'grace-node.example.net', (m) => deliver(m));
      await client.connector.publishRequest({ collective: 'gracetest', agent: 'rpcutil', body: Buffer.from('x'), ttl: 60, node: 'grace-node.example.net' });
      const message = await within(received, { timeoutMs: 10_000, what: 'the directed request at grace-node' });
      assert.equal(message.headers.expiration, '70000');
      assert.equal(message.headers.mc_sender, 'grace-client.example.net');

      await client.connector.publishRequest({ collective: 'gracetest', agent: 'rpcutil', body: Buffer.from('y'), ttl: 60, node: 'nobody.example.net' });
      await until(() => client.counters.get('connector.amqp.unroutable') === 1, 5000, 'the returned message');
      assert.equal(client.logger.find('warn', 'message returned').length, 1);
    } finally {
      await node.connector.disconnect();
      await client.connector.disconnect();
    }
  });

  rabbit.test('an outage: publishes wait for the reconnection, subscriptions and the reply queue come back', async () => {
    await proxy.start();
    const node = amqpConnector('outage-node.example.net', { 'plugin.amqp.host': '127.0.0.1', 'plugin.amqp.port': proxy.port, 'plugin.amqp.publish_timeout': 20 });
    const client = amqpConnector('outage-client.example.net', { 'plugin.amqp.host': '127.0.0.1' });
    const states: ConnectorState[] = [];
    node.connector.on('state', (state) => states.push(state));
    await node.connector.connect();
    await client.connector.connect();
    try {
      const requests: string[] = [];
      const replies: string[] = [];
      await node.connector.subscribeDirected('outagetest', 'outage-node.example.net', (m) => void requests.push(Buffer.from(m.body).toString()));
      const replySub = await node.connector.subscribeReplies('outagetest', (m) => void replies.push(Buffer.from(m.body).toString()));

      await proxy.cut();
      await until(() => node.connector.state === 'reconnecting', 5000, 'the node to notice the outage');
      // A registration-style publish made during the outage waits instead of being dropped.
      const pending = node.connector.publishRequest({ collective: 'outagetest', agent: 'registration', body: Buffer.from('registration'), ttl: 60 });
      await sleep(300);
      await proxy.start();
      await pending;
      await until(() => node.connector.state === 'connected', 10_000, 'the node to reconnect');
      assert.deepEqual(states, ['connecting', 'connected', 'reconnecting', 'connected']);

      await client.connector.publishRequest({ collective: 'outagetest', agent: 'rpcutil', body: Buffer.from('after'), ttl: 60, node: 'outage-node.example.net' });
      await client.connector.publishReply(replySub.replyTo, Buffer.from('reply-after'), 60);
      await until(() => requests.includes('after') && replies.includes('reply-after'), 5000, 'delivery after the reconnection');
      assert.equal(node.counters.get('connector.amqp.reconnected'), 1);
    } finally {
      await node.connector.disconnect();
      await client.connector.disconnect();
      await proxy.cut();
    }
  });

  rabbit.test('a publish during an outage longer than publish_timeout fails with PublishError', async () => {
    await proxy.start();
    const node = amqpConnector('timeout-node.example.net', { 'plugin.amqp.host': '127.0.0.1', 'plugin.amqp.port': proxy.port, 'plugin.amqp.publish_timeout': 0.3 });
    await node.connector.connect();
    try {
      await proxy.cut();
      await until(() => node.connector.state !== 'connected', 5000, 'the node to notice the outage');
      await assert.rejects(
        node.connector.publishRequest({ collective: 'outagetest', agent: 'registration', body: Buffer.from('r'), ttl: 60 }),
        (e: unknown) => e instanceof PublishError && /publish_timeout/.test(e.message),
      );
      assert.equal(node.counters.get('connector.amqp.publish_failed'), 1);
      assert.equal(node.logger.find('warn', 'publish failed').length, 1);
    } finally {
      await node.connector.disconnect();
    }
  });

  rabbit.test('failover: a dead first pool host is skipped with back-off; all hosts dead gives ConnectionError', async () => {
    await proxy.start();
    const deadPort = proxy.port;
    await proxy.cut();
    const pool = { 'plugin.amqp.pool.size': 2, 'plugin.amqp.pool.1.host': '127.0.0.1', 'plugin.amqp.pool.1.port': deadPort, 'plugin.amqp.pool.2.host': '127.0.0.1' };
    const good = amqpConnector('failover.example.net', pool);
    await good.connector.connect();
    assert.equal(good.connector.connectedHost, '127.0.0.1:5672');
    assert.equal(good.counters.get('connector.amqp.attempt_failed'), 1);
    assert.equal(good.logger.find('warn', 'connection attempt failed; retrying').length, 1);
    await good.connector.disconnect();

    const dead = amqpConnector('dead.example.net', { 'plugin.amqp.host': '127.0.0.1', 'plugin.amqp.port': deadPort, 'plugin.amqp.max_reconnect_attempts': 2 });
    await assert.rejects(dead.connector.connect(), (e: unknown) => e instanceof ConnectionError && /after 2 attempt\(s\).*ECONNREFUSED/.test(e.message));
    assert.equal(dead.connector.state, 'disconnected');
    assert.equal(dead.counters.get('connector.amqp.connect_failed'), 1);
    await dead.connector.disconnect();
  });
});
