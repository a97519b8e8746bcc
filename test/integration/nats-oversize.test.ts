/**
 * max_message_size on the nats connector (docs/connectors.md, "Message size"), against a private nats-server
 * whose max_payload admits large messages (64 MiB): a publish over the limit fails at once naming it; one within
 * the limit but over a server's smaller max_payload fails naming that; inbound messages over the limit (just
 * over it, 1 MB, 30 MB, and one with a bloated header block) are dropped by the parser guard, counted and logged
 * while the connection keeps working; and a real tscollectived sent 60 MB keeps answering with its peak memory
 * growing by much less than the message.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe } from 'node:test';
import { connect, headers as natsHeaders } from '@nats-io/transport-node';
import { createNatsConnector } from '../../plugins/connector/nats/index.js';
import { connectClient } from '../../src/client/index.js';
import { configFromObject } from '../../src/config/index.js';
import { MessageTooLargeError } from '../../src/errors.js';
import type { InboundMessage } from '../../src/inter/connector.js';
import { MemoryCounters } from '../../src/util/counters.js';
import { CapturingLogger } from '../../src/util/log.js';
import { type DaemonProcess, callRpcutil, startDaemonProcess } from './harness/daemon-process.js';
import { PrivateNatsServer, natsServerGate, natsTestSettings } from './harness/nats.js';

const gate = natsServerGate();
const LIMIT = 64 * 1024;
const run = randomBytes(3).toString('hex');
const collective = `natsbig${run}`;

function make(identity: string, settings: Record<string, string | number | boolean>) {
  const logger = new CapturingLogger();
  const counters = new MemoryCounters();
  const connector = createNatsConnector({ config: configFromObject(settings, { source: 'nats-oversize.test' }), identity, logger, counters });
  return { connector, logger, counters };
}

async function eventually(condition: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) assert.fail(`timed out after ${timeoutMs} ms waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe('nats: max_message_size', () => {
  let big: PrivateNatsServer | undefined;
  let small: PrivateNatsServer | undefined;
  before(async () => {
    if (!gate.reachable) return;
    big = await PrivateNatsServer.start('max_payload: 67108864\nmax_pending: 134217728');
    small = await PrivateNatsServer.start('max_payload: 16384');
  });
  after(async () => {
    await big?.stop();
    await small?.stop();
  });

  gate.test('a publish over max_message_size fails at once; one over a smaller server max_payload fails naming it', async () => {
    const limited = make('pub.example.net', natsTestSettings({ max_message_size: LIMIT }, small!.port));
    try {
      await assert.rejects(limited.connector.publishRequest({ collective, agent: 'bulk', body: new Uint8Array(LIMIT + 1), ttl: 60 }), (error: unknown) =>
        error instanceof MessageTooLargeError && /has 65537 bytes, more than max_message_size \(65536 bytes\)/.test(error.message));
      await limited.connector.connect();
      assert.equal(limited.logger.find('info', 'accepts smaller messages (max_payload) than max_message_size').length, 1, 'said once at connect');
      await assert.rejects(limited.connector.publishRequest({ collective, agent: 'bulk', body: new Uint8Array(20_000), ttl: 60 }), (error: unknown) =>
        error instanceof MessageTooLargeError && /accepts at most 16384 bytes per message \(its max_payload\), and this body has 20000 bytes plus headers/.test(error.message));
      await limited.connector.publishRequest({ collective, agent: 'bulk', body: new Uint8Array(10_000), ttl: 60 });
      assert.equal(limited.connector.state, 'connected');
      assert.equal(limited.counters.get('connector.nats.publish_failed'), 2);
    } finally {
      await limited.connector.disconnect();
    }
  });

  gate.test('inbound messages over the limit are dropped unassembled, counted and logged; the connection keeps working', async () => {
    const node = make('recv.example.net', natsTestSettings({ max_message_size: LIMIT }, big!.port));
    const raw = await connect({ servers: `127.0.0.1:${big!.port}` });
    try {
      await node.connector.connect();
      const got: InboundMessage[] = [];
      await node.connector.subscribeBroadcast(collective, 'bulk', (message) => {
        got.push(message);
      });
      const subject = `${collective}.broadcast.agent.bulk`;
      const sender = natsHeaders();
      sender.set('mc_sender', 'attacker.example.net');
      raw.publish(subject, new Uint8Array(LIMIT + 1), { headers: sender });
      raw.publish(subject, new Uint8Array(1_000_000));
      raw.publish(subject, new Uint8Array(30_000_000));
      const bloated = natsHeaders();
      bloated.set('mc_sender', 'x'.repeat(70_000));
      raw.publish(subject, new Uint8Array(10), { headers: bloated });
      raw.publish(subject, Buffer.from('fits'), { headers: sender });
      await raw.flush();
      await eventually(() => got.length === 1, 'the message within the limit');
      assert.equal(Buffer.from(got[0]!.body).toString(), 'fits');
      assert.equal(got[0]!.sender, 'attacker.example.net');
      assert.equal(node.counters.get('connector.nats.oversize'), 4);
      const lines = node.logger.find('warn', 'larger than max_message_size');
      assert.equal(lines.length, 4, 'one (rate-limited) log line per dropped message');
      const sizes = lines.map((line) => Number(line.fields['bytes']));
      assert.ok(sizes[0]! > LIMIT + 1 && sizes[0]! < LIMIT + 100, `the first with its announced size, headers included (${sizes[0]})`);
      assert.deepEqual(sizes.slice(1, 3), [1_000_000, 30_000_000]);
      assert.ok(sizes[3]! > 70_000, 'the header-bloated one');
      assert.equal(node.counters.get('connector.nats.connection_lost'), 0, 'the connection was not dropped');
      assert.equal(node.connector.state, 'connected');
    } finally {
      await raw.close();
      await node.connector.disconnect();
    }
  });

  gate.test('a real tscollectived sent 60 MB keeps answering; its peak memory grows far less than the message', async (t) => {
    const bytes = 60_000_000;
    const settings = { connector: 'nats', ...natsTestSettings({}, big!.port) } as Record<string, string | number>;
    let daemon: DaemonProcess | undefined;
    let session: Awaited<ReturnType<typeof connectClient>> | undefined;
    const raw = await connect({ servers: `127.0.0.1:${big!.port}` });
    try {
      daemon = await startDaemonProcess(settings);
      session = await connectClient(configFromObject({ ...daemon.clientSettings, ...settings }), { logger: new CapturingLogger() });
      const call = (action: string) => callRpcutil(session!.client, daemon!, action);
      await call('ping');
      const before = await call('daemon_stats');
      const baselineKb = daemon.memory().rssKb;

      raw.publish(`${daemon.collective}.broadcast.agent.rpcutil`, new Uint8Array(bytes));
      await raw.flush();
      await eventually(() => daemon!.logLines('larger than max_message_size').length > 0, 'the daemon logs the dropped message', 180_000);

      assert.equal(daemon.child.exitCode, null, `the daemon is still running (stderr: ${daemon.stderr()})`);
      await call('ping');
      const after = await call('daemon_stats');
      assert.equal(Number(after['total']) - Number(before['total']), 2, 'only the two later requests reached the daemon\'s pipeline');
      const grownMb = (daemon.memory().peakKb - baselineKb) / 1024;
      const boundMb = 0.8 * (bytes / 1024 / 1024);
      assert.ok(grownMb < boundMb, `peak RSS grew by ${grownMb.toFixed(1)} MB (bound ${boundMb.toFixed(0)} MB) for a ${bytes / 1e6} MB message: the body was buffered`);
      t.diagnostic(`nats: ${bytes / 1e6} MB dropped; RSS ${(baselineKb / 1024).toFixed(1)} MB before, peak +${grownMb.toFixed(1)} MB`);
    } finally {
      await raw.close();
      await session?.close();
      await daemon?.stop();
    }
  });
});
