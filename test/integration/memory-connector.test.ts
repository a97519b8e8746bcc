/** Memory-connector behaviour beyond the conformance suite: checks, counters, outages, the registry. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigError, ConnectionError, InvalidArgumentError, PublishError } from '../../src/errors.js';
import { createConnector } from '../../src/connector/registry.js';
import type { ConfigView } from '../../src/inter/config.js';
import type { ConnectorState, InboundMessage } from '../../src/inter/connector.js';
import { MemoryCounters } from '../../src/util/counters.js';
import { CapturingLogger } from '../../src/util/log.js';
import { MemoryBroker, MemoryConnector, type MemoryOptions } from '../../plugins/connector/memory/index.js';

function make(broker: MemoryBroker, identity: string, options: Partial<MemoryOptions> = {}) {
  const logger = new CapturingLogger();
  const counters = new MemoryCounters();
  const connector = new MemoryConnector({ identity, broker, logger, counters, options });
  return { connector, logger, counters };
}

/** A minimal ConfigView over plain settings (what the config module hands to a connector factory). */
function settings(values: Record<string, string>): ConfigView {
  return {
    source: '(memory)',
    raw: (key) => values[key],
    string: (key) => values[key],
    boolean: (key) => values[key] === '1' || values[key] === 'true',
    integer: (key) => Number.parseInt(values[key] ?? '0', 10),
    number: (key) => Number(values[key] ?? '0'),
    list: (key) => (values[key] ?? '').split(',').filter(Boolean),
    has: (key) => key in values,
    origin: (key) => (key in values ? 'test' : 'default'),
    keys: (prefix = '') => Object.keys(values).filter((k) => k.startsWith(prefix)),
  };
}

const tick = (ms = 0): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('memory connector', () => {
  test('delivery happens on a later tick, never inside publish', async () => {
    const broker = new MemoryBroker();
    const node = make(broker, 'node1'), client = make(broker, 'client1');
    await node.connector.connect();
    await client.connector.connect();
    const got: InboundMessage[] = [];
    await node.connector.subscribeBroadcast('mcollective', 'rpcutil', (m) => void got.push(m));
    await client.connector.publishRequest({ collective: 'mcollective', agent: 'rpcutil', body: new Uint8Array([1, 2]), ttl: 60 });
    assert.equal(got.length, 0, 'the handler has not run when publish resolves');
    await tick(10);
    assert.equal(got.length, 1);
    assert.equal(got[0]!.headers.mc_sender, 'client1');
    assert.equal(node.counters.get('connector.memory.received'), 1);
    assert.equal(client.counters.get('connector.memory.published'), 1);
    await node.connector.disconnect();
    await client.connector.disconnect();
  });

  test('a message that expires while queued is dropped and counted by the broker', async () => {
    const broker = new MemoryBroker();
    const node = make(broker, 'node1'), client = make(broker, 'client1');
    await node.connector.connect();
    await client.connector.connect();
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const texts: string[] = [];
    await node.connector.subscribeDirected('mcollective', 'node1', async (m) => {
      texts.push(Buffer.from(m.body).toString());
      if (texts.length === 1) await held;
    });
    const send = (text: string, ttl: number) =>
      client.connector.publishRequest({ collective: 'mcollective', agent: 'rpcutil', body: Buffer.from(text), ttl, node: 'node1' });
    await send('hold', 60);
    await tick(10);
    await send('brief', 0.05);
    await tick(120);
    release();
    await tick(20);
    assert.deepEqual(texts, ['hold']);
    assert.equal(broker.counters.get('broker.expired'), 1);
    await node.connector.disconnect();
    await client.connector.disconnect();
  });

  test('bad arguments are refused with an error naming them, counted and logged', async () => {
    const broker = new MemoryBroker();
    const client = make(broker, 'client1');
    await client.connector.connect();
    const cases: Array<[unknown, RegExp]> = [
      [{ collective: 'a/b', agent: 'rpcutil', body: new Uint8Array(), ttl: 60 }, /request\.collective/],
      [{ collective: 'mc', agent: '#', body: new Uint8Array(), ttl: 60 }, /request\.agent/],
      [{ collective: 'mc', agent: 'rpcutil', body: 'text', ttl: 60 }, /request\.body must be a Uint8Array/],
      [{ collective: 'mc', agent: 'rpcutil', body: new Uint8Array(), ttl: -1 }, /request\.ttl/],
      [{ collective: 'mc', agent: 'rpcutil', body: new Uint8Array(), ttl: 60, node: 'a b' }, /request\.node/],
    ];
    for (const [request, message] of cases) {
      await assert.rejects(client.connector.publishRequest(request as never), (e: unknown) => e instanceof InvalidArgumentError && message.test(e.message));
    }
    await assert.rejects(client.connector.publishReply('/queue/elsewhere', new Uint8Array(), 60), InvalidArgumentError);
    await assert.rejects(client.connector.subscribeBroadcast('mc', 'rpcutil', 'nope' as never), /handler must be a function/);
    assert.equal(client.counters.get('connector.memory.invalid_argument'), cases.length + 2);
    assert.equal(client.logger.find('warn', 'invalid argument').length, cases.length + 2);
    await client.connector.disconnect();
  });

  test('validate() reports every configuration problem and connect() refuses', async () => {
    const logger = new CapturingLogger();
    const connector = new MemoryConnector({
      identity: '',
      broker: new MemoryBroker(),
      logger,
      counters: new MemoryCounters(),
      options: { broker: 'bad name', ttlGraceSeconds: -1, publishTimeoutMs: Number.NaN },
    });
    const problems = connector.validate();
    assert.equal(problems.length, 4, problems.join('\n'));
    assert.ok(problems.some((p) => p.startsWith('identity')));
    assert.ok(problems.some((p) => p.includes('plugin.memory.broker')));
    assert.ok(problems.some((p) => p.includes('plugin.memory.ttl_grace')));
    assert.ok(problems.some((p) => p.includes('plugin.memory.publish_timeout')));
    await assert.rejects(connector.connect(), ConfigError);
  });

  test('a publish during an outage fails with PublishError after publish_timeout, and waits when the broker returns in time', async () => {
    const broker = new MemoryBroker();
    const node = make(broker, 'node1'), client = make(broker, 'client1', { publishTimeoutMs: 150 });
    await node.connector.connect();
    await client.connector.connect();
    const texts: string[] = [];
    await node.connector.subscribeBroadcast('mc', 'rpcutil', (m) => void texts.push(Buffer.from(m.body).toString()));
    const states: ConnectorState[] = [];
    client.connector.on('state', (s) => states.push(s));

    broker.stop();
    assert.equal(client.connector.state, 'reconnecting');
    await assert.rejects(
      client.connector.publishRequest({ collective: 'mc', agent: 'rpcutil', body: Buffer.from('lost'), ttl: 60 }),
      (e: unknown) => e instanceof PublishError && /publish_timeout/.test(e.message),
    );
    assert.equal(client.counters.get('connector.memory.publish_failed'), 1);
    assert.equal(client.logger.find('warn', 'publish failed').length, 1);

    const waiting = client.connector.publishRequest({ collective: 'mc', agent: 'rpcutil', body: Buffer.from('kept'), ttl: 60 });
    await tick(20);
    broker.start();
    await waiting;
    await tick(20);
    assert.deepEqual(texts, ['kept'], 'the waiting publish went out after the node resubscribed');
    assert.deepEqual(states, ['reconnecting', 'connected']);
    assert.equal(node.counters.get('connector.memory.reconnected'), 1);
    await node.connector.disconnect();
    await client.connector.disconnect();
  });

  test('connect() waits for a stopped broker up to connect_timeout, then fails with ConnectionError', async () => {
    const broker = new MemoryBroker();
    broker.stop();
    const late = make(broker, 'late', { connectTimeoutMs: 100 });
    await assert.rejects(late.connector.connect(), (e: unknown) => e instanceof ConnectionError && /connect_timeout/.test(e.message));
    assert.equal(late.connector.state, 'disconnected');

    const patient = make(broker, 'patient', { connectTimeoutMs: 5000 });
    const connecting = patient.connector.connect();
    await tick(20);
    broker.start();
    await connecting;
    assert.equal(patient.connector.state, 'connected');
    await patient.connector.disconnect();
  });

  test('disconnect() fails waiting publishes and is final', async () => {
    const broker = new MemoryBroker();
    const client = make(broker, 'client1', { publishTimeoutMs: 10_000 });
    await client.connector.connect();
    broker.stop();
    const waiting = client.connector.publishRequest({ collective: 'mc', agent: 'rpcutil', body: Buffer.from('x'), ttl: 60 });
    await client.connector.disconnect();
    await assert.rejects(waiting, PublishError);
    assert.equal(client.connector.state, 'closed');
    await assert.rejects(client.connector.connect(), ConnectionError);
    broker.start();
  });

  test('a failing handler is logged and counted and later messages still arrive', async () => {
    const broker = new MemoryBroker();
    const node = make(broker, 'node1'), client = make(broker, 'client1');
    await node.connector.connect();
    await client.connector.connect();
    const texts: string[] = [];
    await node.connector.subscribeBroadcast('mc', 'rpcutil', (m) => {
      const text = Buffer.from(m.body).toString();
      texts.push(text);
      if (text === 'boom') throw new Error('handler exploded');
    });
    for (const text of ['boom', 'fine']) await client.connector.publishRequest({ collective: 'mc', agent: 'rpcutil', body: Buffer.from(text), ttl: 60 });
    await tick(20);
    assert.deepEqual(texts, ['boom', 'fine']);
    assert.equal(node.counters.get('connector.memory.handler_errors'), 1);
    assert.equal(node.logger.find('error', 'message handler failed').length, 1);
    await node.connector.disconnect();
    await client.connector.disconnect();
  });

  test('a reply destination belongs to one session, and unsubscribe stops delivery', async () => {
    const broker = new MemoryBroker();
    const client = make(broker, 'client1'), server = make(broker, 'server1');
    await client.connector.connect();
    await server.connector.connect();
    const replies: string[] = [];
    const sub = await client.connector.subscribeReplies('mc', (m) => void replies.push(Buffer.from(m.body).toString()));
    const intruder = broker.open('intruder', () => {});
    assert.throws(() => intruder.bind(sub.replyTo, () => {}), /owned by another client/);
    await server.connector.publishReply(sub.replyTo, Buffer.from('one'), 60);
    await tick(10);
    await sub.unsubscribe();
    await server.connector.publishReply(sub.replyTo, Buffer.from('two'), 60);
    await tick(10);
    assert.deepEqual(replies, ['one']);
    assert.equal(broker.counters.get('broker.unroutable'), 1);
    intruder.close();
    await client.connector.disconnect();
    await server.connector.disconnect();
  });

  test('the registry builds memory connectors on the named broker from plugin.memory.broker', async () => {
    assert.equal(MemoryBroker.named('registry-test'), MemoryBroker.named('registry-test'));
    assert.notEqual(MemoryBroker.named('registry-test'), MemoryBroker.default);
    const context = (identity: string) => ({
      config: settings({ 'plugin.memory.broker': 'registry-test', 'plugin.memory.publish_timeout': '2' }),
      identity,
      logger: new CapturingLogger(),
      counters: new MemoryCounters(),
    });
    const node = createConnector('memory', context('node1')) as MemoryConnector;
    const client = createConnector('memory', context('client1'));
    assert.equal(node.broker, MemoryBroker.named('registry-test'));
    await node.connect();
    await client.connect();
    const got: string[] = [];
    await node.subscribeDirected('mc', 'node1', (m) => void got.push(m.sender ?? ''));
    await client.publishRequest({ collective: 'mc', agent: 'rpcutil', body: new Uint8Array([0]), ttl: 10, node: 'node1' });
    await tick(10);
    assert.deepEqual(got, ['client1']);
    await node.disconnect();
    await client.disconnect();

    const broken = createConnector('memory', { ...context('node2'), config: settings({ 'plugin.memory.ttl_grace': 'soon' }) });
    assert.match(broken.validate().join('\n'), /plugin\.memory\.ttl_grace \(test\) must be a number/);
  });
});
