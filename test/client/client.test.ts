import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvalidArgumentError, RpcError } from '../../src/errors.js';
import type { Connector } from '../../src/inter/connector.js';
import { MemoryCounters } from '../../src/util/counters.js';
import { CapturingLogger } from '../../src/util/log.js';
import { MemoryBroker } from '../../plugins/connector/memory/index.js';
import {
  ExitCode, FlatFileDiscoverer, ListDiscoverer, NODE_LIST_MAX_BYTES, RpcClient, applyNodeLimit, emptyFilter, exitCodeFor, parseNodeLimit, parseNodeList,
  isRequestId, newRequestId, type DiscoveryEvent, type DiscoveryRequest, type RpcClientOptions,
} from '../../src/client/index.js';
import { FakeNode, PlainSecurity, clientConnector, echo, type Script } from './fakes.js';

const DT = 400;
const TIMEOUT = 1500;

interface Rig {
  broker: MemoryBroker;
  nodes: FakeNode[];
  connector: Connector;
  security: PlainSecurity;
  counters: MemoryCounters;
  logger: CapturingLogger;
  client: RpcClient;
}

async function rig(names: string[], scripts: Record<string, Script> = {}, options: Partial<RpcClientOptions> = {}, agents: Record<string, string[]> = {}): Promise<Rig> {
  const broker = new MemoryBroker();
  const nodes = names.map((name) => new FakeNode(name, broker, scripts[name] ?? echo, agents[name]));
  await Promise.all(nodes.map((node) => node.start()));
  const connector = clientConnector(broker);
  await connector.connect();
  const security = new PlainSecurity();
  const counters = new MemoryCounters();
  const logger = new CapturingLogger();
  const client = new RpcClient({
    identity: 'tester', connector, security, logger, counters, mainCollective: 'mcollective',
    discoveryTimeoutMs: DT, timeoutMs: TIMEOUT, ...options,
  });
  return { broker, nodes, connector, security, counters, logger, client };
}

async function teardown(r: Rig): Promise<void> {
  await r.client.close();
  await r.connector.disconnect();
  await Promise.all(r.nodes.map((node) => node.connector.disconnect()));
}

describe('RpcClient over the memory bus', () => {
  test('discovers by broadcast ping, then sends directed requests when the targets are few', async () => {
    const r = await rig(['n1', 'n2', 'n3']);
    try {
      const progress: string[] = [];
      const result = await r.client.call('echo', 'run', { x: 1 }, { onReply: (_, p) => progress.push(`${p.received}/${p.expected}`) });
      assert.deepEqual(result.items.map((i) => i.sender).sort(), ['n1', 'n2', 'n3']);
      assert.deepEqual(result.items[0]!.data, { echoed: { x: 1 }, action: 'run' });
      assert.equal(result.items[0]!.agent, 'echo');
      assert.equal(result.items[0]!.action, 'run');
      assert.deepEqual(progress, ['1/3', '2/3', '3/3']);
      assert.equal(result.stats.discovered, 3);
      assert.equal(result.stats.responded, 3);
      assert.equal(result.stats.ok, 3);
      assert.deepEqual(result.stats.noResponses, []);
      assert.equal(exitCodeFor(result.stats), ExitCode.OK);
      for (const node of r.nodes) {
        assert.deepEqual(node.received.map((m) => `${m.agent}:${m.via}`), ['discovery:broadcast', 'echo:directed']);
      }
      // Both the discovery request and the RPC request had a reply handle, and the client kept neither once done.
      assert.equal(r.security.encoded.length, 2);
      assert.equal(r.client['pending'].size, 0);
      assert.ok(result.stats.requestids.every(isRequestId));
    } finally {
      await teardown(r);
    }
  });

  test('broadcasts when there are more targets than the direct addressing threshold', async () => {
    const r = await rig(['n1', 'n2', 'n3'], {}, { directAddressingThreshold: 2 });
    try {
      const result = await r.client.call('echo', 'run');
      assert.equal(result.stats.responded, 3);
      for (const node of r.nodes) assert.deepEqual(node.received.map((m) => m.via), ['broadcast', 'broadcast']);
    } finally {
      await teardown(r);
    }
  });

  test('direct addressing can be turned off; a "first" node limit keeps the first nodes discovered', async () => {
    const r = await rig(['n1', 'n2', 'n3'], {}, { directAddressing: false, limitMethod: 'first' });
    try {
      const result = await r.client.call('echo', 'run');
      assert.equal(result.stats.responded, 3);
      for (const node of r.nodes) assert.deepEqual(node.received.map((m) => m.via), ['broadcast', 'broadcast']);
      const limited = await r.client.call('echo', 'run', {}, { nodes: ['n3', 'n1', 'n2'], limit: { count: 2 } });
      assert.deepEqual(limited.items.map((i) => i.sender).sort(), ['n1', 'n3']);
      // A limit needs exactly the chosen nodes to receive the request: directed despite directAddressing false.
      assert.equal(r.nodes[0]!.received.at(-1)!.via, 'directed');
    } finally {
      await teardown(r);
    }
  });

  test('a plain -I identity filter needs no discovery; a /regex/ one does', async () => {
    const r = await rig(['n1', 'n2']);
    try {
      const plain = await r.client.call('echo', 'run', {}, { filter: { identity: ['n2'] } });
      assert.deepEqual(plain.items.map((i) => i.sender), ['n2']);
      assert.equal(r.nodes[0]!.received.length, 0);
      assert.deepEqual(r.nodes[1]!.received.map((m) => m.agent), ['echo']);
      const regex = await r.client.call('echo', 'run', {}, { filter: { identity: ['/n/'] } });
      assert.equal(regex.stats.discovered, 2);
      assert.ok(r.nodes[0]!.received.some((m) => m.agent === 'discovery'));
    } finally {
      await teardown(r);
    }
  });

  test('ignores duplicate replies and replies to other requests, counting and logging them', async () => {
    // n2 stays silent so the wait is still open when n1's second copy arrives.
    const r = await rig(['n1', 'n2'], { n1: (req) => [...echo(req), ...echo(req)], n2: () => undefined });
    try {
      const result = await r.client.call('echo', 'run', {}, { nodes: ['n1', 'n2'], timeoutMs: 500 });
      assert.equal(result.items.length, 1);
      assert.equal(r.counters.get('client.replies.duplicate'), 1);
      assert.equal(result.stats.ignoredReplies, 1);
      assert.equal(r.logger.find('debug', 'duplicate reply ignored').length, 1);

      // A late reply to a finished request: the provider no longer knows it.
      const stale = Buffer.from(JSON.stringify({ requestid: result.stats.requestids[0], senderid: 'n1', senderagent: 'echo', msgtime: 0, body: {}, signer: 'cert=n1' }));
      const replies = await (r.client as unknown as { replySubscription(c: string): Promise<{ replyTo: string }> }).replySubscription('mcollective');
      await r.nodes[0]!.connector.publishReply(replies.replyTo, stale, 60);
      const second = await r.client.call('echo', 'run', {}, { nodes: ['n1'] });
      assert.equal(second.items.length, 1);
      const staleLogs = r.logger.records.filter((rec) => String(rec.fields['reason']).includes(result.stats.requestids[0]!));
      assert.equal(staleLogs.length, 1);
      assert.equal(staleLogs[0]!.msg, 'reply for a request this client is not waiting for');
      assert.ok(r.counters.get('client.replies.unexpected') >= 1);
    } finally {
      await teardown(r);
    }
  });

  test('reports silent nodes and a failed reply, with the matching exit codes', async () => {
    const r = await rig(['ok', 'bad', 'silent'], {
      bad: () => [{ statuscode: 4, statusmsg: 'invalid data', data: {} }],
      silent: () => undefined,
    });
    try {
      const result = await r.client.call('echo', 'run', {}, { timeoutMs: 500 });
      assert.equal(result.stats.discovered, 3);
      assert.equal(result.stats.responded, 2);
      assert.equal(result.stats.failed, 1);
      assert.deepEqual(result.stats.noResponses, ['silent']);
      assert.equal(result.stats.timedOut, true, 'the wait ran out: silent never answered');
      assert.equal(exitCodeFor(result.stats), ExitCode.SomeFailed);
      const none = await r.client.call('echo', 'run', {}, { nodes: ['silent'], timeoutMs: 300 });
      assert.equal(exitCodeFor(none.stats), ExitCode.NoResponses);
    } finally {
      await teardown(r);
    }
  });

  test('a malformed reply body becomes a failed item instead of crashing', async () => {
    const r = await rig(['n1'], { n1: () => [{ statuscode: 'yes' }] });
    try {
      const result = await r.client.call('echo', 'run', {}, { nodes: ['n1'] });
      assert.equal(result.items[0]!.statuscode, 5);
      assert.match(result.items[0]!.statusmsg, /malformed reply body: statuscode "yes"/);
      assert.equal(r.counters.get('client.replies.malformed_body'), 1);
    } finally {
      await teardown(r);
    }
  });

  test('batches send one directed request per batch; a node limit keeps that many nodes', async () => {
    const r = await rig(['n1', 'n2', 'n3']);
    try {
      const batched = await r.client.call('echo', 'run', {}, { nodes: ['n1', 'n2', 'n3'], batchSize: 2, batchSleepMs: 0 });
      assert.equal(batched.stats.requestids.length, 2);
      assert.equal(batched.stats.responded, 3);
      const limited = await r.client.call('echo', 'run', {}, { limit: parseNodeLimit('2') });
      assert.equal(limited.stats.discovered, 3);
      assert.equal(limited.stats.responded, 2);
      assert.deepEqual(limited.stats.noResponses, []);
    } finally {
      await teardown(r);
    }
  });

  test('ping reports every node with its round trip; nothing discovered exits 1, no discovery at all exits 4', async () => {
    const r = await rig(['n1', 'n2']);
    try {
      const ping = await r.client.ping();
      assert.deepEqual(ping.replies.map((p) => p.sender).sort(), ['n1', 'n2']);
      assert.ok(ping.replies.every((p) => Number.isFinite(p.rttMs) && p.rttMs >= 0));
      const nothing = await r.client.call('echo', 'run', {}, { filter: { identity: ['/nomatch/'] } });
      assert.equal(nothing.stats.discovered, 0);
      assert.equal(exitCodeFor(nothing.stats), ExitCode.NothingDiscovered);
      assert.equal(exitCodeFor({ discoveryPerformed: false, discovered: 0, responded: 0, failed: 0 }), ExitCode.NoDiscoveryNoResponses);
    } finally {
      await teardown(r);
    }
  });

  test('the called agent joins the discovery filter: only its hosts are targeted, and the wait ends when they answered', async () => {
    const r = await rig(['n1', 'n2', 'n3'], {}, { timeoutMs: 60_000 }, { n2: ['hello', 'echo'] });
    try {
      const events: DiscoveryEvent[] = [];
      const result = await r.client.call('hello', 'greet', {}, { onDiscovery: (event) => events.push(event) });
      assert.deepEqual(result.items.map((item) => item.sender), ['n2']);
      assert.equal(result.stats.discovered, 1);
      assert.deepEqual(result.stats.noResponses, []);
      assert.equal(result.stats.timedOut, false, 'ended because every discovered node answered, not after the 60 s timeout');
      for (const node of r.nodes) {
        const ping = node.received.find((m) => m.agent === 'discovery')!;
        assert.deepEqual(ping.filter.agent, ['hello'], 'the discovery ping asks for nodes hosting hello');
      }
      assert.deepEqual(r.nodes[0]!.received.map((m) => m.agent), ['discovery'], 'n1 never got the request');
      assert.equal(events.length, 2);
      assert.deepEqual(events[0], { phase: 'start', method: 'mc', timeoutMs: DT });
      assert.equal(events[1]!.phase, 'end');
      assert.equal(events[1]!.phase === 'end' && events[1]!.nodes, 1);
      // Already in the filter: not added twice. Known targets: no discovery, no events.
      await r.client.call('hello', 'greet', {}, { filter: { agent: ['hello'] } });
      assert.deepEqual(r.nodes[1]!.received.filter((m) => m.agent === 'discovery').at(-1)!.filter.agent, ['hello']);
      const known: DiscoveryEvent[] = [];
      await r.client.call('hello', 'greet', {}, { nodes: ['n2'], onDiscovery: (event) => known.push(event) });
      assert.deepEqual(known, []);
    } finally {
      await teardown(r);
    }
  });

  test('identity-only discovery sources get no agent filter; a node limit can pick at random per call', async () => {
    const r = await rig(['n1', 'n2', 'n3', 'n4', 'n5'], {}, { limitMethod: 'first' });
    try {
      const listed = await r.client.call('echo', 'run', {}, { discoverer: new ListDiscoverer('list', () => ['n1', 'n2']) });
      assert.equal(listed.stats.responded, 2);
      const seen: DiscoveryRequest[] = [];
      const custom = { name: 'custom', discover: async (request: DiscoveryRequest) => { seen.push(request); return ['n3']; } };
      await r.client.call('echo', 'run', {}, { discoverer: custom });
      assert.deepEqual(seen[0]!.filter.agent, ['echo'], 'a source that evaluates filters is asked for the agent\'s hosts');
      const nodes = ['n1', 'n2', 'n3', 'n4', 'n5'];
      const first = await r.client.call('echo', 'run', {}, { nodes, limit: { count: 1 } });
      assert.deepEqual(first.items.map((i) => i.sender), ['n1'], 'the client\'s limitMethod: first');
      const chosen = new Set<string>();
      for (let i = 0; i < 10; i++) {
        const one = await r.client.call('echo', 'run', {}, { nodes, limit: { count: 1 }, limitMethod: 'random' });
        assert.equal(one.items.length, 1);
        chosen.add(one.items[0]!.sender);
      }
      assert.ok(chosen.size > 1, `random picks vary (got ${[...chosen].join(', ')})`);
      await assert.rejects(r.client.call('echo', 'run', {}, { limitMethod: 'best' as 'first' }), /limitMethod: "best"/);
    } finally {
      await teardown(r);
    }
  });

  test('node lists: one name per line, or the JSON tsco discover --json prints (or a JSON array)', async () => {
    assert.deepEqual(parseNodeList('{"nodes": ["web1", "db1", "web1"], "stats": {"discovered": 2}}', 'x'), ['web1', 'db1']);
    assert.deepEqual(parseNodeList('  ["a", "b"]\n', 'x'), ['a', 'b']);
    assert.throws(() => parseNodeList('{"nodes": ["ok", "bad name", 7]}', 'stdin'), (error: unknown) =>
      error instanceof RpcError && /stdin: nodes\[1\]: "bad name"/.test(error.message) && /nodes\[2\]: expected a string, got number/.test(error.message));
    assert.throws(() => parseNodeList('{"nodes": [', 'f.json'), /f\.json: the node list looks like JSON but does not parse/);
    assert.throws(() => parseNodeList('{"items": []}', 'f.json'), /an object with a "nodes" array/);
    assert.throws(() => parseNodeList('x'.repeat(NODE_LIST_MAX_BYTES + 1), 'big'), /larger than/);
    const dir = await mkdtemp(join(tmpdir(), 'tsc-nodes-'));
    try {
      const file = join(dir, 'nodes.json');
      await writeFile(file, JSON.stringify({ nodes: ['n1', 'n2'] }));
      assert.deepEqual(await new FlatFileDiscoverer(file).discover({ filter: emptyFilter(), collective: 'mcollective', timeoutMs: 1 }), ['n1', 'n2']);
      let reads = 0;
      const stdin = new FlatFileDiscoverer('standard input', async () => { reads++; return 'n3\n'; });
      assert.deepEqual(await stdin.discover({ filter: emptyFilter(), collective: 'mcollective', timeoutMs: 1 }), ['n3']);
      assert.equal(reads, 1);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('flat-file and list discovery select by identity and refuse other filters', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tsc-client-'));
    const r = await rig(['n1', 'n2']);
    try {
      const file = join(dir, 'nodes.txt');
      await writeFile(file, '# fleet\nn1\n\nn2   # second\nn1\n');
      const viaFile = await r.client.call('echo', 'run', {}, { discoverer: new FlatFileDiscoverer(file) });
      assert.equal(viaFile.stats.discovered, 2);
      assert.equal(viaFile.stats.responded, 2);
      const listed = await r.client.discover({ discoverer: new ListDiscoverer('registration', () => ['n1', 'n2', 'gone']), filter: { identity: ['/^n/'] } });
      assert.deepEqual(listed, ['n1', 'n2']);
      await assert.rejects(r.client.discover({ discoverer: new FlatFileDiscoverer(file), filter: { cf_class: ['web'] } }), /identity filters only/);
      await assert.rejects(r.client.discover({ discoverer: new FlatFileDiscoverer(join(dir, 'missing')) }), RpcError);
      assert.throws(() => parseNodeList('ok\nbad name\n../x\n', 'nodes.txt'), /nodes\.txt:2: "bad name".*\n.*nodes\.txt:3/s);
    } finally {
      await teardown(r);
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('bad arguments are refused with the argument named', async () => {
    const r = await rig([]);
    try {
      await assert.rejects(r.client.call('bad agent', 'run'), /agent: "bad agent"/);
      await assert.rejects(r.client.call('echo', 'run', {}, { batchSize: 0 }), /batchSize: 0/);
      await assert.rejects(r.client.call('echo', 'run', {}, { collective: 'other' }), /collective: "other" is not one of/);
      await assert.rejects(r.client.call('echo', 'run', {}, { filter: { fact: [{ fact: 'x', operator: '~' as '==', value: '1' }] } }), /filter\.fact\[0\]\.operator/);
      assert.throws(() => new RpcClient({ ...({} as RpcClientOptions), identity: 'a b', mainCollective: '' }), (error: unknown) =>
        error instanceof InvalidArgumentError && /identity/.test(error.message) && /mainCollective/.test(error.message) && /connector: required/.test(error.message));
    } finally {
      await teardown(r);
    }
  });
});

describe('client helpers', () => {
  test('request ids are 32 lower-case hex characters and unique', () => {
    const ids = new Set(Array.from({ length: 100 }, newRequestId));
    assert.equal(ids.size, 100);
    assert.ok([...ids].every(isRequestId));
    assert.equal(isRequestId('ABC'), false);
  });

  test('node limits parse N and N% and choose that many distinct nodes', () => {
    assert.deepEqual(parseNodeLimit('3'), { count: 3 });
    assert.deepEqual(parseNodeLimit('50%'), { percent: 50 });
    for (const bad of ['0', '-1', '101%', 'x', '1.5', '']) assert.throws(() => parseNodeLimit(bad), /--limit-nodes/);
    const nodes = ['a', 'b', 'c', 'd', 'e'];
    assert.equal(applyNodeLimit(nodes, { count: 2 }).length, 2);
    assert.equal(applyNodeLimit(nodes, { percent: 50 }).length, 3); // rounds up
    assert.equal(applyNodeLimit(nodes, { count: 9 }).length, 5);
    assert.deepEqual(applyNodeLimit(nodes, { count: 2 }, () => 0), ['a', 'b']);
    assert.equal(new Set(applyNodeLimit(nodes, { count: 4 })).size, 4);
  });

  test('exit codes follow MCollective', () => {
    const at = (discoveryPerformed: boolean, discovered: number, responded: number, failed: number) =>
      exitCodeFor({ discoveryPerformed, discovered, responded, failed });
    assert.equal(at(true, 2, 2, 0), 0);
    assert.equal(at(true, 0, 0, 0), 1);
    assert.equal(at(true, 2, 2, 1), 2);
    assert.equal(at(true, 2, 0, 0), 3);
    assert.equal(at(false, 0, 0, 0), 4);
    assert.equal(at(true, 3, 1, 0), 0);
  });
});
