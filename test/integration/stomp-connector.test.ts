/**
 * STOMP connector behaviour beyond the conformance suite: configuration checks, failover across
 * the pool, refused credentials, publishes while disconnected, heartbeat loss, malformed and
 * unroutable inbound messages, large binary bodies, RabbitMQ's reply exchange, and a publish
 * that waits through a broker restart. Tests marked "(broker)" need scripts/brokers.sh start.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { type AddressInfo, type Server, type Socket, createServer } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { Dispatcher } from '../../plugins/connector/common/dispatch.js';
import { createStompConnector } from '../../plugins/connector/stomp/index.js';
import { configFromObject } from '../../src/config/index.js';
import { ConfigError, ConnectionError, InvalidArgumentError, PublishError } from '../../src/errors.js';
import type { ConnectorState, InboundMessage } from '../../src/inter/connector.js';
import { MemoryCounters } from '../../src/util/counters.js';
import { CapturingLogger } from '../../src/util/log.js';
import { LogLimiter } from '../../src/util/log-limiter.js';
import { type BrokerName, BROKERS, brokerControl, brokerGate, stompTestSettings } from './harness/brokers.js';

const gates = { activemq: await brokerGate('activemq'), rabbitmq: await brokerGate('rabbitmq') };
const run = randomBytes(3).toString('hex');
const collective = `stomptest_${run}`;

/** A connector built through the plugin's factory from `settings`, with its logger, counters and states. */
function makeConnector(flavor: BrokerName, settings: Record<string, string | number | boolean>, identity = `node-${run}.example.net`) {
  const logger = new CapturingLogger();
  const counters = new MemoryCounters();
  const connector = createStompConnector(flavor, {
    config: configFromObject(settings, { source: 'stomp-connector.test', env: {} }),
    identity,
    logger,
    counters,
  });
  const states: ConnectorState[] = [];
  connector.on('state', (state) => states.push(state));
  return { connector, logger, counters, states, identity };
}

/** A TCP port nothing listens on (bound, then released). */
async function deadPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Waits until `condition` holds, polling; fails naming `what`. */
async function eventually(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) assert.fail(`timed out after ${timeoutMs} ms waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Resolves with the first message the handler receives. */
function firstMessage(): { handler: (m: InboundMessage) => void; received: Promise<InboundMessage> } {
  let resolve!: (m: InboundMessage) => void;
  const received = new Promise<InboundMessage>((r) => (resolve = r));
  return { handler: (m) => resolve(m), received };
}

/** `promise`, or a failure naming `what` after `ms`. */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms)));
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * A minimal STOMP server: answers CONNECT with CONNECTED (offering `heartBeat`), RECEIPTs every
 * frame that asks, records the frames, and lets a test push raw bytes. It never sends heartbeats.
 */
class FakeStompServer {
  readonly frames: string[] = [];
  readonly sockets: Socket[] = [];
  connections = 0;
  private readonly server: Server;

  constructor(private readonly heartBeat: string) {
    this.server = createServer((socket) => {
      this.connections += 1;
      this.sockets.push(socket);
      let buffer = '';
      socket.on('error', () => {});
      socket.on('data', (chunk) => {
        buffer += chunk.toString('latin1');
        for (let end = buffer.indexOf('\0'); end >= 0; end = buffer.indexOf('\0')) {
          const frame = buffer.slice(0, end).replace(/^[\r\n]+/, '');
          buffer = buffer.slice(end + 1);
          if (frame) this.handle(socket, frame);
        }
      });
    });
  }

  async listen(): Promise<number> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return (this.server.address() as AddressInfo).port;
  }

  /** Writes raw bytes to the latest connection. */
  push(raw: string | Buffer): void {
    this.sockets.at(-1)!.write(raw);
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private handle(socket: Socket, frame: string): void {
    this.frames.push(frame);
    const [command, ...lines] = frame.split('\n');
    const headers = Object.fromEntries(lines.filter((l) => l.includes(':')).map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1)]));
    if (command === 'CONNECT' || command === 'STOMP') {
      socket.write(`CONNECTED\nversion:1.2\nheart-beat:${this.heartBeat}\nserver:fake\n\n\0`);
    } else if (headers.receipt) {
      socket.write(`RECEIPT\nreceipt-id:${headers.receipt}\n\n\0`);
    }
  }
}

describe('stomp connector: configuration', () => {
  test('validate() lists every problem at once and connect() refuses with ConfigError', async () => {
    const { connector } = makeConnector('activemq', {
      'plugin.activemq.pool.size': 2,
      'plugin.activemq.pool.1.port': 61614,
      'plugin.activemq.pool.1.ssl.key': '/nonexistent/key.pem',
      'plugin.activemq.back_off_multiplier': 1,
      'plugin.activemq.initial_reconnect_delay': 3,
      'plugin.activemq.max_reconnect_delay': 2,
    }, 'bad identity!');
    const problems = connector.validate();
    const text = problems.join('\n');
    for (const expected of [
      /pool\.1\.host is missing/, /pool\.2\.host is missing/, /pool\.1\.ssl\.key is set but .*pool\.1\.ssl is not enabled/,
      /\/nonexistent\/key\.pem does not exist/, /ssl\.cert and .*ssl\.key must be set together/,
      /max_reconnect_delay \(2 s\) must be >= initial_reconnect_delay \(3 s\)/, /identity: "bad identity!" is not a valid identity/,
    ]) assert.match(text, expected);
    assert.equal(problems.length, 7, text);
    await assert.rejects(connector.connect(), (error: unknown) => error instanceof ConfigError && error.problems.length === 7);
  });

  test('a RabbitMQ-only setting under plugin.activemq is reported', () => {
    const { connector } = makeConnector('activemq', { 'plugin.activemq.pool.1.host': 'localhost', 'plugin.activemq.amqp_port': 5672 });
    assert.match(connector.validate().join('\n'), /amqp_port is a RabbitMQ setting/);
  });

  test('bad arguments are refused with InvalidArgumentError, counted and logged', async () => {
    const { connector, counters, logger } = makeConnector('rabbitmq', { 'plugin.rabbitmq.pool.1.host': 'localhost' });
    await assert.rejects(connector.subscribeBroadcast('mcollective', 'bad/agent', () => {}), InvalidArgumentError);
    await assert.rejects(connector.publishReply('not a destination', new Uint8Array(1), 10), InvalidArgumentError);
    await assert.rejects(connector.publishReply('/topic/x', new Uint8Array(1), 10), /not usable: a RabbitMQ reply destination/);
    await assert.rejects(connector.publishRequest({ collective: 'mcollective', agent: 'rpcutil', body: 'text' as unknown as Uint8Array, ttl: 60 }), InvalidArgumentError);
    assert.equal(counters.get('connector.rabbitmq.invalid_argument'), 4);
    assert.equal(logger.find('warn', 'invalid argument').length, 4);
    await connector.disconnect();
  });
});

describe('stomp connector: without a broker', () => {
  test('connect() gives up with ConnectionError after max_reconnect_attempts when no pool host answers', async () => {
    const [portA, portB] = [await deadPort(), await deadPort()];
    const { connector, counters, states } = makeConnector('activemq', {
      'plugin.activemq.pool.size': 2,
      'plugin.activemq.pool.1.host': '127.0.0.1',
      'plugin.activemq.pool.1.port': portA,
      'plugin.activemq.pool.2.host': '127.0.0.1',
      'plugin.activemq.pool.2.port': portB,
      'plugin.activemq.max_reconnect_attempts': 4,
      'plugin.activemq.initial_reconnect_delay': 0.01,
    });
    await assert.rejects(connector.connect(), (error: unknown) => error instanceof ConnectionError && /after 4 attempt/.test(error.message));
    assert.equal(counters.get('connector.activemq.attempt_failed'), 4, 'both hosts were tried twice');
    assert.equal(counters.get('connector.activemq.connect_failed'), 1, 'one connect() gave up');
    assert.deepEqual(states, ['connecting', 'disconnected']);
    await connector.disconnect();
  });

  test('a publish while not connected waits publish_timeout, then fails with PublishError (counted, logged)', async () => {
    const { connector, counters, logger } = makeConnector('activemq', {
      'plugin.activemq.pool.1.host': '127.0.0.1',
      'plugin.activemq.pool.1.port': await deadPort(),
      'plugin.activemq.publish_timeout': 0.2,
    });
    await assert.rejects(
      connector.publishRequest({ collective, agent: 'rpcutil', body: Buffer.from('x'), ttl: 60 }),
      (error: unknown) => error instanceof PublishError && /publish_timeout/.test(error.message),
    );
    assert.equal(counters.get('connector.activemq.publish_failed'), 1);
    assert.equal(logger.find('warn', 'publish failed').length, 1);
    await connector.disconnect();
    await assert.rejects(connector.publishReply('/queue/x', Buffer.from('x'), 60), (error: unknown) => error instanceof PublishError && /closed/.test(error.message));
  });

  describe('against a fake STOMP server', () => {
    let server: FakeStompServer;
    let port: number;
    before(async () => {
      server = new FakeStompServer('1000,1000');
      port = await server.listen();
    });
    after(() => server.close());

    test('a silent broker is detected by the heartbeat and the connector reconnects and resubscribes', async () => {
      const { connector, counters, states } = makeConnector('activemq', {
        'plugin.activemq.pool.1.host': '127.0.0.1',
        'plugin.activemq.pool.1.port': port,
        'plugin.activemq.heartbeat_interval': 1,
        'plugin.activemq.allow_short_heartbeat': true,
        'plugin.activemq.initial_reconnect_delay': 0.01,
      });
      try {
        await connector.connect();
        await connector.subscribeBroadcast(collective, 'rpcutil', () => {});
        const before = server.connections;
        await eventually(() => counters.get('connector.activemq.reconnected') >= 1, 15_000, 'a reconnect after the missing heartbeats');
        assert.ok(server.connections > before, 'a new connection was made');
        assert.ok(states.includes('reconnecting'));
        const subscribes = server.frames.filter((f) => f.startsWith('SUBSCRIBE') && f.includes(`destination:/topic/${collective}.rpcutil.agent`));
        assert.ok(subscribes.length >= 2, `the subscription was issued again (${subscribes.length} SUBSCRIBE frames)`);
        const connect = server.frames.find((f) => f.startsWith('CONNECT'))!;
        assert.match(connect, /heart-beat:1000,1000/);
        assert.match(connect, /host:mcollective/, 'ActiveMQ connections use the mcollective vhost');
      } finally {
        await connector.disconnect();
      }
    });

    test('a message for no known subscription is counted and logged, and the connection survives', async () => {
      const { connector, counters, logger } = makeConnector('rabbitmq', {
        'plugin.rabbitmq.pool.1.host': '127.0.0.1',
        'plugin.rabbitmq.pool.1.port': port,
        'plugin.rabbitmq.heartbeat_interval': 0,
        'plugin.rabbitmq.declare_exchanges': false,
      });
      try {
        await connector.connect();
        server.push('MESSAGE\nsubscription:nobody\ndestination:/queue/x\nmessage-id:1\ncontent-length:2\n\nhi\0');
        await eventually(() => counters.get('connector.rabbitmq.inbound_unroutable') === 1, 5000, 'the unroutable message is counted');
        assert.equal(logger.find('warn', 'no known subscription').length, 1);
        assert.equal(connector.state, 'connected');
        // The session still works: a publish gets its receipt from the server.
        await connector.publishReply('/reply-queue/amq.gen-x', Buffer.from([0, 1, 2]), 60);
        const send = server.frames.find((f) => f.startsWith('SEND'))!;
        assert.match(send, /destination:\/reply-queue\/amq\.gen-x/);
        assert.match(send, /mc_sender:node-/);
        assert.match(send, /expiration:70000/, 'RabbitMQ TTL is relative: (ttl + 10) * 1000');
      } finally {
        await connector.disconnect();
      }
    });
  });

  test('the dispatcher delivers one at a time, drops expired messages and survives failing handlers', async () => {
    const counters = new MemoryCounters();
    const logger = new CapturingLogger();
    const seen: string[] = [];
    let active = 0;
    let overlapped = false;
    const dispatcher = new Dispatcher('/queue/test', async (message) => {
      active += 1;
      if (active > 1) overlapped = true;
      await new Promise((resolve) => setTimeout(resolve, 5));
      active -= 1;
      const text = Buffer.from(message.body).toString();
      seen.push(text);
      if (text === 'boom') throw new Error('handler exploded');
    }, { counterPrefix: 'connector.test', counters, log: new LogLimiter(logger, { timer: false }) });
    const message = (body: string): InboundMessage => ({ body: Buffer.from(body), sender: 'n1', headers: { mc_sender: 'n1' } });
    const settled = [
      dispatcher.deliver(message('one'), undefined),
      dispatcher.deliver(message('boom'), undefined),
      dispatcher.deliver(message('stale'), Date.now() - 1),
      dispatcher.deliver({ body: Buffer.from('anonymous'), headers: {} }, undefined),
      dispatcher.deliver(message('two'), Date.now() + 60_000),
    ];
    await Promise.all(settled);
    assert.deepEqual(seen, ['one', 'boom', 'anonymous', 'two'], 'every promise settles after its handler, in order');
    assert.equal(overlapped, false, 'the handler never ran twice at once');
    assert.equal(counters.get('connector.test.received'), 5);
    assert.equal(counters.get('connector.test.handler_errors'), 1);
    assert.equal(counters.get('connector.test.expired'), 1);
    assert.equal(counters.get('connector.test.inbound_without_sender'), 1);
    assert.equal(logger.find('error', 'message handler failed').length, 1);
  });
});

for (const flavor of ['activemq', 'rabbitmq'] as const) {
  describe(`stomp connector: ${flavor} (broker)`, () => {
    gates[flavor].test('fails over past a dead pool host to the live broker', async () => {
      const settings = stompTestSettings(flavor, {
        'pool.size': 2,
        'pool.1.host': '127.0.0.1',
        'pool.1.port': await deadPort(),
        'pool.2.host': BROKERS[flavor].host,
        'pool.2.port': BROKERS[flavor].stompPort,
        'pool.2.user': 'mcollective',
        'pool.2.password': 'marionette',
      });
      const { connector, counters } = makeConnector(flavor, settings);
      try {
        await connector.connect();
        assert.equal(connector.connectedHost, `${BROKERS[flavor].host}:${BROKERS[flavor].stompPort}`);
        assert.equal(counters.get(`connector.${flavor}.attempt_failed`), 1, 'the dead host was tried once');
      } finally {
        await connector.disconnect();
      }
    });

    gates[flavor].test('refused credentials fail with ConnectionError carrying the broker\'s ERROR', async () => {
      const { connector } = makeConnector(flavor, stompTestSettings(flavor, { 'pool.1.password': 'wrong-password', max_reconnect_attempts: 1 }));
      try {
        await assert.rejects(connector.connect(), (error: unknown) => error instanceof ConnectionError && /ERROR/.test(`${error.message} ${(error.cause as Error)?.message}`));
        assert.equal(connector.state, 'disconnected');
      } finally {
        await connector.disconnect();
      }
    });

    gates[flavor].test('a 1 MiB binary body with every byte value arrives byte-exact', async () => {
      const node = makeConnector(flavor, stompTestSettings(flavor), `big-${run}.example.net`);
      const client = makeConnector(flavor, stompTestSettings(flavor), `client-${run}.example.net`);
      try {
        await Promise.all([node.connector.connect(), client.connector.connect()]);
        const inbox = firstMessage();
        await node.connector.subscribeDirected(collective, node.identity, inbox.handler);
        const body = Buffer.concat([Buffer.from(Array.from({ length: 256 }, (_, i) => i)), randomBytes(1024 * 1024 - 256)]);
        await client.connector.publishRequest({ collective, agent: 'bulk', body, ttl: 60, node: node.identity });
        const message = await within(inbox.received, 15_000, 'the 1 MiB message');
        assert.equal(message.body.length, body.length);
        assert.ok(Buffer.from(message.body).equals(body), 'the body is byte-exact');
        assert.equal(message.sender, client.identity);
      } finally {
        await Promise.all([node.connector.disconnect(), client.connector.disconnect()]);
      }
    });
  });
}

describe('stomp connector: rabbitmq reply exchange (broker)', () => {
  gates['rabbitmq'].test('with use_reply_exchange, replies travel through mcollective_reply to the requester only', async () => {
    const settings = stompTestSettings('rabbitmq', { use_reply_exchange: true });
    const server = makeConnector('rabbitmq', settings, `server-${run}.example.net`);
    const client = makeConnector('rabbitmq', settings, `client-${run}.example.net`);
    const other = makeConnector('rabbitmq', settings, `other-${run}.example.net`);
    try {
      await Promise.all([server.connector.connect(), client.connector.connect(), other.connector.connect()]);
      await server.connector.subscribeBroadcast(collective, 'echo', async (request) => {
        await server.connector.publishReply(request.replyTo!, Buffer.concat([Buffer.from('echo:'), Buffer.from(request.body)]), 60);
      });
      const replies = firstMessage();
      const otherReplies: InboundMessage[] = [];
      const replySub = await client.connector.subscribeReplies(collective, replies.handler);
      await other.connector.subscribeReplies(collective, (m) => void otherReplies.push(m));
      assert.match(replySub.replyTo, new RegExp(`^/exchange/mcollective_reply/client-${run}\\.example\\.net_${process.pid}_\\d+$`));
      await client.connector.publishRequest({ collective, agent: 'echo', body: Buffer.from('hello'), ttl: 60, replyTo: replySub.replyTo });
      const reply = await within(replies.received, 10_000, 'the reply');
      assert.equal(Buffer.from(reply.body).toString(), 'echo:hello');
      assert.equal(reply.sender, server.identity);
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.equal(otherReplies.length, 0, 'another client got nothing');
    } finally {
      await Promise.all([server, client, other].map((c) => c.connector.disconnect()));
    }
  });
});

describe('stomp connector: activemq restart (broker)', () => {
  gates['activemq'].test('a publish made while the broker is down waits and is delivered after the reconnect', async () => {
    const settings = stompTestSettings('activemq', { publish_timeout: 120 });
    const node = makeConnector('activemq', settings, `waiter-${run}.example.net`);
    const client = makeConnector('activemq', settings, `sender-${run}.example.net`);
    try {
      await Promise.all([node.connector.connect(), client.connector.connect()]);
      const inbox = firstMessage();
      await node.connector.subscribeDirected(collective, node.identity, inbox.handler);
      await brokerControl('stop', 'activemq');
      await eventually(() => client.connector.state !== 'connected', 30_000, 'the client notices the outage');
      const publishing = client.connector.publishRequest({ collective, agent: 'rpcutil', body: Buffer.from('queued'), ttl: 120, node: node.identity });
      await brokerControl('start', 'activemq');
      await within(publishing, 120_000, 'the publish to complete after the restart');
      const message = await within(inbox.received, 60_000, 'the message published during the outage');
      assert.equal(Buffer.from(message.body).toString(), 'queued');
      assert.ok(client.states.includes('reconnecting') && client.states.at(-1) === 'connected', client.states.join(' > '));
    } finally {
      await Promise.all([node.connector.disconnect(), client.connector.disconnect()]);
      // Leave the broker running for the next test file whatever happened here.
      await brokerControl('start', 'activemq').catch(() => {});
    }
  });
});

