/**
 * The client library against real daemons (startDaemon, aes_security, action policy) over the memory bus:
 * discovery with every filter kind, typed RPC results, failures, denials, and requests the servers refuse.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { MemoryBroker } from '../../plugins/connector/memory/index.js';
import { ExitCode, connectClient, exitCodeFor, type ClientSession } from '../../src/client/index.js';
import { configFromObject } from '../../src/config/index.js';
import { createSecurityProvider } from '../../src/security/registry.js';
import { MemoryCounters } from '../../src/util/counters.js';
import { CapturingLogger } from '../../src/util/log.js';
import { generateKeyPairFiles } from '../../src/keys/index.js';
import { startCluster, type Cluster } from './cluster.js';

const BROKER = `client-cluster-${process.pid}`;
const memory = { connector: 'memory', 'plugin.memory.broker': BROKER, discovery_timeout: 1 };

describe('client against aes_security daemons on the memory bus', () => {
  let cluster: Cluster;
  let session: ClientSession;

  before(async () => {
    cluster = await startCluster(memory);
    session = await connectClient(configFromObject(cluster.clientSettings), { logger: new CapturingLogger() });
  });
  after(async () => {
    await session?.close();
    await cluster?.stop();
    MemoryBroker.named(BROKER).stop();
  });

  test('ping and discovery with each filter kind', async () => {
    const ping = await session.client.ping();
    assert.deepEqual(ping.replies.map((r) => r.sender).sort(), ['db1', 'web1', 'web2']);
    const discover = (filter: Parameters<typeof session.client.discover>[0]) => session.client.discover(filter);
    assert.deepEqual(await discover({ filter: { fact: [{ fact: 'country', operator: '==', value: 'uk' }] } }), ['db1', 'web1']);
    assert.deepEqual(await discover({ filter: { fact: [{ fact: 'cores', operator: '>=', value: '8' }] } }), ['db1', 'web2']);
    assert.deepEqual(await discover({ filter: { cf_class: ['web'] } }), ['web1', 'web2']);
    assert.deepEqual(await discover({ filter: { agent: ['example'] } }), ['db1', 'web1', 'web2']);
    assert.deepEqual(await discover({ filter: { identity: ['/^web/'] } }), ['web1', 'web2']);
    assert.deepEqual(await discover({ filter: { compound: ['country=uk and not role=db'] } }), ['web1']);
    assert.deepEqual(await discover({ filter: { cf_class: ['nosuchclass'] } }), []);
  });

  test('an RPC call returns every node\'s signed reply and statistics', async () => {
    const result = await session.client.call('example', 'echo', { message: 'hi', times: 2 }, { filter: { cf_class: ['web'] } });
    assert.deepEqual(result.items.map((i) => i.sender).sort(), ['web1', 'web2']);
    for (const item of result.items) {
      assert.equal(item.statuscode, 0);
      assert.deepEqual(item.data, { message: 'hihi', node: item.sender });
      assert.equal(item.signer, `cert=${item.sender}`);
    }
    assert.equal(result.stats.discovered, 2);
    assert.equal(exitCodeFor(result.stats), ExitCode.OK);
  });

  test('a directed request copied into another matching node\'s queue is dropped there: the targets are signed', async () => {
    const connector = session.client['options'].connector;
    const captured: Array<{ node?: string; body: Uint8Array; replyTo?: string }> = [];
    const publish = connector.publishRequest.bind(connector);
    connector.publishRequest = async (request) => { captured.push(request); return publish(request); };
    let result;
    try {
      result = await session.client.call('example', 'echo', { message: 'only web1', times: 1 }, { filter: { cf_class: ['web'] }, limit: { count: 1 } });
    } finally {
      connector.publishRequest = publish;
    }
    assert.equal(result.items.length, 1);
    const chosen = result.items[0]!.sender;
    const other = chosen === 'web1' ? 'web2' : 'web1';
    const sent = captured.find((request) => request.node === chosen)!;
    const otherDaemon = cluster.daemons.find((daemon) => daemon.identity === other)!;
    const filteredBefore = otherDaemon.stats().filtered;
    await connector.publishRequest({ collective: 'mcollective', agent: 'example', body: sent.body, ttl: 60, node: other, ...(sent.replyTo ? { replyTo: sent.replyTo } : {}) });
    const deadline = Date.now() + 5000;
    while (otherDaemon.stats().filtered === filteredBefore && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(otherDaemon.stats().filtered, filteredBefore + 1, `${other} must drop a request directed at ${chosen}`);
  });

  test('several identity filters are alternatives: -I web1 -I db1 reaches both nodes', async () => {
    const result = await session.client.call('example', 'echo', { message: 'x', times: 1 }, { filter: { identity: ['web1', 'db1'] } });
    assert.deepEqual(result.items.map((i) => i.sender).sort(), ['db1', 'web1']);
    assert.equal(exitCodeFor(result.stats), ExitCode.OK);
  });

  test('failures and policy denials are reported per node with exit code 2', async () => {
    const failed = await session.client.call('example', 'fail', {}, { filter: { identity: ['web1'] } });
    assert.equal(failed.items[0]!.statuscode, 5);
    assert.equal(failed.items[0]!.statusmsg, 'failed on purpose');
    assert.equal(exitCodeFor(failed.stats), ExitCode.SomeFailed);
    const denied = await session.client.call('example', 'secret', {}, { filter: { identity: ['web1'] } });
    assert.equal(denied.items[0]!.statuscode, 1);
    assert.match(denied.items[0]!.statusmsg, /cert=tester is not authorized to call example#secret/);
    assert.equal(exitCodeFor(denied.stats), ExitCode.SomeFailed);
  });

  test('discovery is exempt from action policy: a caller no policy allows discovers, nothing is denied or logged as denied', async () => {
    const keys = await generateKeyPairFiles('outsider', { dir: join(cluster.dir, 'outsider') });
    copyFileSync(keys.publicPath, join(cluster.certDir, 'outsider.pem'));
    const settings = { ...cluster.clientSettings, ...memory, identity: 'outsider', 'plugin.aes.client_private': keys.privatePath, 'plugin.aes.client_public': keys.publicPath };
    const outsider = await connectClient(configFromObject(settings), { logger: new CapturingLogger() });
    const unauthorized = () => cluster.daemons.map((daemon) => daemon.counters.get('unauthorized'));
    const passed = () => cluster.daemons.map((daemon) => daemon.counters.get('passed'));
    try {
      const before = unauthorized();
      const passedBefore = passed();
      assert.deepEqual(await outsider.client.discover(), ['db1', 'web1', 'web2']);
      const ping = await outsider.client.ping();
      assert.equal(ping.replies.length, 3);
      assert.deepEqual(unauthorized(), before, 'no discovery ping was denied');
      assert.deepEqual(passed(), passedBefore.map((count) => count + 2), 'each ping still counts');
      for (const logger of cluster.loggers) assert.ok(!logger.records.some((record) => /denied .*discovery#ping/.test(record.msg)));
      // Only discovery: the same caller's rpcutil#ping is denied, counted and logged.
      const denied = await outsider.client.call('rpcutil', 'ping', {}, { nodes: ['web1'] });
      assert.match(denied.items[0]!.statusmsg, /cert=outsider is not authorized to call rpcutil#ping/);
      assert.equal(cluster.daemons[0]!.counters.get('unauthorized'), before[0]! + 1);
    } finally {
      await outsider.close();
    }
  });

  test('inventory of one node shows its facts, classes and agents', async () => {
    const result = await session.client.call('rpcutil', 'inventory', {}, { nodes: ['db1'] });
    const data = result.items[0]!.data as { facts: Record<string, string>; classes: string[]; agents: string[] };
    assert.equal(data.facts['role'], 'db');
    assert.deepEqual(data.classes.sort(), ['base', 'db']);
    assert.ok(data.agents.includes('example') && data.agents.includes('rpcutil'));
  });

  test('servers refuse expired requests and requests from unknown keys: discovered but no responses (exit 3)', async () => {
    const counters = new MemoryCounters();
    const settings = { ...cluster.clientSettings, ...memory };
    // A client whose clock is an hour behind: its requests are expired on arrival.
    const late = createSecurityProvider('aes_security', { config: configFromObject(settings), role: 'client', logger: new CapturingLogger(), counters, now: () => Date.now() - 3_600_000 });
    const lateSession = await connectClient(configFromObject(settings), { provider: late, logger: new CapturingLogger(), identity: 'late' });
    try {
      const result = await lateSession.client.call('example', 'echo', { message: 'x' }, { nodes: ['web1', 'web2'], timeoutMs: 800 });
      assert.equal(result.stats.responded, 0);
      assert.deepEqual(result.stats.noResponses, ['web1', 'web2']);
      assert.equal(exitCodeFor(result.stats), ExitCode.NoResponses);
    } finally {
      await lateSession.close();
    }
    const web1 = cluster.daemons[0]!;
    assert.ok(web1.counters.get('security.TSC_SEC_EXPIRED') >= 1, JSON.stringify(web1.counters.snapshot()));

    const intruderSettings = { ...settings, 'plugin.aes.client_private': cluster.intruder.privatePath, 'plugin.aes.client_public': cluster.intruder.publicPath };
    const intruder = await connectClient(configFromObject(intruderSettings), { logger: new CapturingLogger(), identity: 'intruder' });
    try {
      const result = await intruder.client.call('example', 'echo', { message: 'x' }, { nodes: ['web1'], timeoutMs: 800 });
      assert.equal(result.stats.responded, 0);
    } finally {
      await intruder.close();
    }
    assert.ok(web1.counters.get('security.TSC_SEC_UNKNOWN_SENDER') >= 1, JSON.stringify(web1.counters.snapshot()));
  });
});
