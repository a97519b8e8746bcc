/**
 * max_message_size on every connector (docs/connectors.md, "Message size"): a publish over the limit fails at
 * once naming it; an inbound message over it is dropped before its body is buffered, counted
 * (`connector.<name>.oversize`), logged once, and the connection keeps working. Against the brokers: raw STOMP
 * SENDs and a raw AMQP publish at a connector with a 64 KiB limit, then 120 MB (RabbitMQ STOMP, AMQP) and 16 MB
 * (ActiveMQ) at a real tscollectived process, which must keep answering with its peak memory well below the
 * message's size.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import '../../plugins/connector/amqp/index.js';
import '../../plugins/connector/stomp/index.js';
import { MemoryBroker, MemoryConnector } from '../../plugins/connector/memory/index.js';
import { readMaxMessageSize } from '../../plugins/connector/common/limits.js';
import { connectClient } from '../../src/client/index.js';
import { configFromObject } from '../../src/config/index.js';
import { createConnector } from '../../src/connector/registry.js';
import { MessageTooLargeError } from '../../src/errors.js';
import type { ConfigView } from '../../src/inter/config.js';
import type { Connector, InboundMessage } from '../../src/inter/connector.js';
import { MemoryCounters } from '../../src/util/counters.js';
import { CapturingLogger } from '../../src/util/log.js';
import { BROKERS, STOMP_CREDENTIALS, amqpGate, brokerGate, stompTestSettings } from './harness/brokers.js';
import type { ServiceGate } from '../harness/gate.js';
import { type DaemonProcess, callRpcutil, rawAmqpPublish, rawStompSend, startDaemonProcess } from './harness/daemon-process.js';

const LIMIT = 64 * 1024;
const run = randomBytes(3).toString('hex');

type Kind = 'rabbitmq' | 'activemq' | 'amqp';

/** One gate per broker kind, probed once when the file loads. */
const gates: Record<Kind, ServiceGate> = { rabbitmq: await brokerGate('rabbitmq'), activemq: await brokerGate('activemq'), amqp: await amqpGate() };

function settingsFor(kind: Kind, extra: Record<string, string | number | boolean> = {}): Record<string, string | number | boolean> {
  const connector = kind === 'amqp'
    ? { 'plugin.amqp.host': '127.0.0.1', 'plugin.amqp.ttl_grace': 0, 'plugin.amqp.initial_reconnect_delay': 0.05 }
    : stompTestSettings(kind);
  return { connector: kind, ...connector, ...extra };
}

function makeConnector(kind: Kind, identity: string, extra: Record<string, string | number | boolean> = {}) {
  const logger = new CapturingLogger();
  const counters = new MemoryCounters();
  const connector = createConnector(kind, { config: configFromObject(settingsFor(kind, extra)), identity, logger, counters });
  return { connector, logger, counters };
}

/** Sends `bytes` to the broadcast destination of (collective, agent) as an outsider of `kind` would. */
function attack(kind: Kind, collective: string, agent: string, bytes: number, contentLength = true): Promise<void> {
  if (kind === 'amqp') return rawAmqpPublish(`${collective}_broadcast`, agent, bytes);
  const stomp = { port: BROKERS[kind].stompPort, vhost: kind === 'activemq' ? 'mcollective' : '/', ...STOMP_CREDENTIALS };
  const destination = kind === 'activemq' ? `/topic/${collective}.${agent}.agent` : `/exchange/${collective}_broadcast/${agent}`;
  return rawStompSend(stomp, destination, bytes, { contentLength });
}

async function eventually(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) assert.fail(`timed out after ${timeoutMs} ms waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe('max_message_size: publishing', () => {
  const makers: Array<[string, () => Connector]> = [
    ['memory', () => new MemoryConnector({ identity: 'big', broker: new MemoryBroker(), logger: new CapturingLogger(), counters: new MemoryCounters(), options: { maxMessageSize: LIMIT } })],
    ...(['rabbitmq', 'activemq', 'amqp'] as const).map((kind): [string, () => Connector] => [kind, () => makeConnector(kind, 'big', { max_message_size: LIMIT }).connector]),
  ];
  for (const [name, make] of makers) {
    test(`${name}: a body over the limit fails at once, naming the limit, without waiting for a connection`, async () => {
      const connector = make();
      try {
        await assert.rejects(
          connector.publishRequest({ collective: 'mc', agent: 'rpcutil', body: new Uint8Array(LIMIT + 1), ttl: 60 }),
          (error: unknown) => error instanceof MessageTooLargeError && error.code === 'TSC_MESSAGE_TOO_LARGE'
            && /has 65537 bytes, more than max_message_size \(65536 bytes\)/.test(error.message),
        );
        await assert.rejects(connector.publishReply(name === 'memory' ? 'reply/x' : name === 'amqp' ? 'q' : '/queue/x', new Uint8Array(LIMIT + 1), 60), MessageTooLargeError);
      } finally {
        await connector.disconnect();
      }
    });
  }

  test('max_message_size outside its bounds is a configuration problem', () => {
    const view = (value: string): ConfigView => ({
      source: '(test)', raw: (key) => (key === 'max_message_size' ? value : undefined), string: () => undefined, boolean: () => false,
      integer: () => 0, number: () => 0, list: () => [], has: (key) => key === 'max_message_size', origin: () => 'test', keys: () => [],
    });
    for (const bad of ['1024', '1e9', 'lots', '4096.5']) {
      const problems: string[] = [];
      assert.equal(readMaxMessageSize(view(bad), problems), 4 * 1024 * 1024);
      assert.match(problems.join('\n'), /max_message_size \(test\) must be an integer between 4096 and 67108864 bytes/, bad);
    }
  });
});

describe('max_message_size: receiving', () => {
  test('memory: a delivery over the receiver\'s limit is dropped and counted; the next one arrives', async () => {
    const broker = new MemoryBroker();
    const counters = new MemoryCounters();
    const logger = new CapturingLogger();
    const node = new MemoryConnector({ identity: 'small', broker, logger, counters, options: { maxMessageSize: LIMIT } });
    const sender = new MemoryConnector({ identity: 'sender', broker, logger: new CapturingLogger(), counters: new MemoryCounters() });
    await node.connect();
    await sender.connect();
    try {
      const got: number[] = [];
      await node.subscribeBroadcast('mc', 'rpcutil', (m) => void got.push(m.body.length));
      await sender.publishRequest({ collective: 'mc', agent: 'rpcutil', body: new Uint8Array(LIMIT + 1), ttl: 60 });
      await sender.publishRequest({ collective: 'mc', agent: 'rpcutil', body: new Uint8Array(10), ttl: 60 });
      await eventually(() => got.length === 1, 5000, 'the small message');
      assert.deepEqual(got, [10]);
      assert.equal(counters.get('connector.memory.oversize'), 1);
      assert.equal(logger.find('warn', 'larger than max_message_size').length, 1);
    } finally {
      await node.disconnect();
      await sender.disconnect();
    }
  });

  for (const kind of ['rabbitmq', 'activemq', 'amqp'] as const) {
    test(`${kind}: an inbound message over the limit is dropped unbuffered, counted, logged once; the connection keeps working`, { timeout: 60_000, skip: gates[kind].skip }, async (t) => {
      gates[kind].require();
      const collective = `oversize_${kind}_${run}`;
      // prefetch 1: an oversize delivery that was not settled would hold the only slot and block the next message.
      const node = makeConnector(kind, `node-${run}.example.net`, { max_message_size: LIMIT, ...(kind === 'amqp' ? { 'plugin.amqp.prefetch': 1 } : {}) });
      const sender = makeConnector(kind, `sender-${run}.example.net`);
      await node.connector.connect();
      await sender.connector.connect();
      try {
        const got: InboundMessage[] = [];
        await node.connector.subscribeBroadcast(collective, 'bulk', (m) => void got.push(m));
        await attack(kind, collective, 'bulk', 4 * LIMIT);
        if (kind !== 'amqp') await attack(kind, collective, 'bulk', 4 * LIMIT, false);
        const expected = kind === 'amqp' ? 1 : 2;
        await eventually(() => node.counters.get(`connector.${kind}.oversize`) === expected, 30_000, `${expected} oversize message(s) counted`);
        await sender.connector.publishRequest({ collective, agent: 'bulk', body: Buffer.from('fits'), ttl: 60 });
        await eventually(() => got.length === 1, 15_000, 'the message within the limit');
        assert.equal(Buffer.from(got[0]!.body).toString(), 'fits');
        assert.equal(node.logger.find('warn', 'larger than max_message_size').length, expected, 'one log line per dropped message');
        assert.equal(node.counters.get(`connector.${kind}.connection_lost`), 0, 'the connection was not dropped');
        assert.equal(node.connector.state, 'connected');
      } finally {
        await node.connector.disconnect();
        await sender.connector.disconnect();
      }
    });
  }
});

/**
 * The broker cases for a real daemon. The shared ActiveMQ runs with a 384 MB heap and runs out of memory converting
 * STOMP messages of 90 MB for delivery, so it gets 16 MB (four times the default limit, same code path as the
 * 120 MB RabbitMQ STOMP case); its memory bound is a flat 64 MB, as the GC's slack is of that order.
 */
const DAEMON_CASES: Array<{ kind: Kind; bytes: number; maxGrowthMb: number }> = [
  { kind: 'rabbitmq', bytes: 120_000_000, maxGrowthMb: 0.8 * (120_000_000 / 1024 / 1024) },
  { kind: 'activemq', bytes: 16_000_000, maxGrowthMb: 64 },
  { kind: 'amqp', bytes: 120_000_000, maxGrowthMb: 0.8 * (120_000_000 / 1024 / 1024) },
];

describe('max_message_size: a real tscollectived', () => {
  for (const { kind, bytes, maxGrowthMb } of DAEMON_CASES) {
    test(`${kind}: a ${bytes / 1e6} MB message is dropped unbuffered while the daemon keeps answering`, { timeout: 240_000, skip: gates[kind].skip }, async (t) => {
      gates[kind].require();
      const settings = settingsFor(kind);
      delete settings['plugin.amqp.ttl_grace'];
      let daemon: DaemonProcess | undefined;
      let session: Awaited<ReturnType<typeof connectClient>> | undefined;
      try {
        daemon = await startDaemonProcess(settings as Record<string, string | number>);
        session = await connectClient(configFromObject(daemon.clientSettings), { logger: new CapturingLogger() });
        const call = (action: string) => callRpcutil(session!.client, daemon!, action);
        await call('ping');
        const before = await call('daemon_stats');
        const baselineKb = daemon.memory().rssKb;

        await attack(kind, daemon.collective, 'rpcutil', bytes);
        await eventually(() => daemon!.logLines('larger than max_message_size').length > 0, 180_000, 'the daemon logs the dropped message');

        assert.equal(daemon.child.exitCode, null, `the daemon is still running (stderr: ${daemon.stderr()})`);
        await call('ping');
        const after = await call('daemon_stats');
        assert.equal(Number(after['total']) - Number(before['total']), 2, 'only the two later requests reached the daemon\'s pipeline');
        assert.equal(daemon.logLines('larger than max_message_size').length, 1, 'logged once');
        const grownMb = (daemon.memory().peakKb - baselineKb) / 1024;
        assert.ok(grownMb < maxGrowthMb, `peak RSS grew by ${grownMb.toFixed(1)} MB (bound ${maxGrowthMb.toFixed(0)} MB) for a ${bytes / 1e6} MB message: the body was buffered`);
        t.diagnostic(`${kind}: ${bytes / 1e6} MB dropped; RSS ${(baselineKb / 1024).toFixed(1)} MB before, peak +${grownMb.toFixed(1)} MB`);
      } finally {
        await session?.close();
        await daemon?.stop();
      }
    });
  }
});
