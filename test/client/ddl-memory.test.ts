/**
 * Agent descriptions on the client, against real daemons (aes_security) on the memory bus: a client with no agent
 * code fetches a description with rpcutil#agent_ddl, caches it by name and version, and validates and converts
 * inputs from it (`message=123` stays a string); the cache is bounded and refuses bad files; aggregates over real
 * replies; display policy and display names in the text output.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryBroker } from '../../plugins/connector/memory/index.js';
import { AgentDescriptions, DescriptionCache, computeAggregates, connectClient, defaultCacheDir, type ClientSession, type RpcReply } from '../../src/client/index.js';
import { configFromObject } from '../../src/config/index.js';
import { convertInputs } from '../../src/cli/tsco/inputs.js';
import { effectiveDisplay, formatAggregates, formatDescribedReply, shouldDisplay } from '../../src/cli/tsco/rpc-format.js';
import { CapturingLogger } from '../../src/util/log.js';
import type { AgentDdl } from '../../src/agent/index.js';
import { startCluster, type Cluster } from './cluster.js';

const BROKER = `client-ddl-${process.pid}`;
const memory = { connector: 'memory', 'plugin.memory.broker': BROKER, discovery_timeout: 1 };

describe('agent descriptions on a client without agent code', () => {
  let cluster: Cluster;
  let session: ClientSession;
  let scratch: string;
  let noAgents: string;

  before(async () => {
    cluster = await startCluster(memory);
    session = await connectClient(configFromObject(cluster.clientSettings), { logger: new CapturingLogger() });
    scratch = mkdtempSync(join(tmpdir(), 'tsc-ddl-'));
    noAgents = join(scratch, 'no-agents');
    mkdirSync(noAgents);
  });
  after(async () => {
    await session?.close();
    await cluster?.stop();
    MemoryBroker.named(BROKER).stop();
    rmSync(scratch, { recursive: true, force: true });
  });

  /** Descriptions with no local agents at all (not even the built-in ones) and a cache in `dir`. */
  const bare = (dir: string, problems: string[] = []) =>
    new AgentDescriptions({ libdirs: [], builtinDir: noAgents, logger: new CapturingLogger(), cache: new DescriptionCache(dir, {}, (p) => problems.push(p)) });

  test('fetched from a server, cached by name and version, then found in the cache without the network', async () => {
    const cacheDir = join(scratch, 'cache1');
    const descriptions = bare(cacheDir);
    assert.equal(await descriptions.find('example'), undefined);
    const fetched = await descriptions.fetch(session.client, 'example');
    assert.ok(!('problem' in fetched), JSON.stringify(fetched));
    assert.equal(fetched.source, 'network');
    assert.ok(['web1', 'web2', 'db1'].includes(fetched.from!));
    assert.deepEqual(readdirSync(cacheDir), ['example@1.0.0.json']);
    const again = await bare(cacheDir).find('example');
    assert.equal(again?.source, 'cache');
    assert.deepEqual(again?.ddl, fetched.ddl);
    assert.deepEqual((await bare(cacheDir).list()).map((found) => found.ddl.metadata.name), ['example']);
  });

  test('inputs are converted and validated from the description: message=123 stays a string and the server accepts it', async () => {
    const found = await bare(join(scratch, 'cache2')).fetch(session.client, 'example');
    assert.ok(!('problem' in found));
    const typed = convertInputs(['message=123', 'times=2'], found.ddl, 'echo');
    assert.deepEqual(typed, { data: { message: '123', times: 2 }, typing: 'declared' });
    const result = await session.client.call('example', 'echo', typed.data, { filter: { identity: ['web1'] } });
    assert.deepEqual(result.items[0]?.data, { message: '123123', node: 'web1' });

    // Without the description the guess is a number, and the server refuses it: the failure descriptions prevent.
    const guessed = convertInputs(['message=123'], undefined, 'echo');
    assert.deepEqual(guessed.data, { message: 123 });
    const refused = await session.client.call('example', 'echo', guessed.data, { filter: { identity: ['web1'] } });
    assert.equal(refused.items[0]?.statuscode, 4);
    assert.equal(convertInputs(['message:string=123'], undefined, 'echo').data['message'], '123', 'key:type=value types it explicitly');

    assert.throws(() => convertInputs(['message=x', 'times=11'], found.ddl, 'echo'), /input times: 11 is above the maximum 10/);
    assert.throws(() => convertInputs(['times=1'], found.ddl, 'echo'), /input message is required by example\.echo/);
    assert.throws(() => convertInputs(['message:integer=1'], found.ddl, 'echo'), /input message: given as integer, but example\.echo declares it string/);
  });

  test('agent_ddl refuses an agent the node does not host; fetching one nobody hosts says why', async () => {
    const result = await session.client.call('rpcutil', 'agent_ddl', { agent: 'nosuchagent' }, { nodes: ['web1'] });
    assert.deepEqual([result.items[0]?.statuscode, result.items[0]?.statusmsg], [4, 'agent nosuchagent is not hosted here']);
    const missing = await bare(join(scratch, 'cache3')).fetch(session.client, 'nosuchagent', { discoveryTimeoutMs: 300 });
    assert.deepEqual(missing, { problem: 'no node hosting nosuchagent answered discovery' });
  });

  test('the cache is bounded, and a corrupt or mislabelled file is removed and reported, never used', () => {
    const dir = join(scratch, 'cache4');
    const cache = new DescriptionCache(dir, { entries: 2 });
    const ddl = (name: string, version: string): AgentDdl => ({ metadata: { name, description: 'd', version, timeout: 5 }, actions: { go: { description: 'go' } } });
    cache.put(ddl('one', '1'));
    cache.put(ddl('two', '1'));
    cache.put(ddl('three', '1'));
    assert.equal(readdirSync(dir).length, 2);
    const problems: string[] = [];
    const reading = new DescriptionCache(dir, {}, (p) => problems.push(p));
    writeFileSync(join(dir, 'bad@1.json'), '{"metadata": {"name": "bad"}, "actions": {}}');
    writeFileSync(join(dir, 'liar@1.json'), JSON.stringify(ddl('other', '1')));
    assert.equal(reading.get('bad'), undefined);
    assert.equal(reading.get('liar'), undefined);
    assert.equal(problems.length, 2);
    assert.match(problems.join('\n'), /bad@1\.json is unusable and was removed: agent description from .* is invalid/);
    assert.match(problems.join('\n'), /liar@1\.json is unusable and was removed: describes agent other/);
    assert.ok(!readdirSync(dir).includes('bad@1.json'));
    assert.throws(() => cache.put(ddl('x', '../../etc')), /not a valid name and version/);
    const small = new DescriptionCache(join(scratch, 'cache5'), { bytes: 400 });
    for (const name of ['a', 'b', 'c', 'd']) small.put(ddl(name, '1'));
    const kept = readdirSync(join(scratch, 'cache5'));
    assert.ok(kept.length >= 1 && kept.length < 4, `the byte bound evicts the oldest: ${kept.join(', ')}`);
    assert.ok(kept.includes('d@1.json'), 'the newest is kept');
    assert.equal(defaultCacheDir({ XDG_CACHE_HOME: '/var/cache/me' }), '/var/cache/me/tscollective/ddl');
  });

  test('aggregates over real replies: value counts of get_fact, min/max/average of ping', async () => {
    const rpcutil = (await new AgentDescriptions({ libdirs: [], logger: new CapturingLogger() }).find('rpcutil'))!.ddl;
    const facts = await session.client.call('rpcutil', 'get_fact', { fact: 'country' });
    const [summary] = computeAggregates(rpcutil.actions['get_fact']!, facts.items);
    assert.deepEqual(summary, { function: 'summary', output: 'value', display_as: 'Value', replies: 3, counts: [{ value: 'uk', count: 2 }, { value: 'de', count: 1 }] });
    assert.match(formatAggregates([summary!]), /Summary of Value:\n\n {3}uk = 2\n {3}de = 1\n/);

    const pings = await session.client.call('rpcutil', 'ping', {});
    const pongs = pings.items.map((item) => item.data['pong'] as number);
    const results = computeAggregates(rpcutil.actions['ping']!, pings.items);
    assert.deepEqual(results.map((r) => [r.function, r.value]), [
      ['min', Math.min(...pongs)], ['max', Math.max(...pongs)], ['average', pongs.reduce((a, b) => a + b, 0) / pongs.length],
    ]);
    assert.match(formatAggregates(results), /Summary of Timestamp:\n\n {3}Minimum: \d+\n {3}Maximum: \d+\n {3}Average: \d+\.\d\d\n/);
  });
});

describe('display policy and display names', () => {
  const reply = (statuscode: number, data: Record<string, unknown> = {}): RpcReply =>
    ({ agent: 'a', action: 'b', sender: 'node1', statuscode, statusmsg: statuscode === 0 ? 'OK' : 'it broke', data, signer: 'cert=node1', senderProof: 'key-name', rttMs: 1 }) as RpcReply;
  const action = {
    description: 'x', display: 'failed' as const,
    output: { pong: { description: 'time', display_as: 'Timestamp' }, mood: { description: 'mood', display_as: 'Mood', default: 'calm' } },
    aggregate: [{ function: 'boolean_summary' as const, output: 'up', labels: { true: 'up', false: 'down' } }],
  };

  test('the action\'s policy applies unless --display overrides it', () => {
    assert.equal(effectiveDisplay(undefined, action), 'failed');
    assert.equal(effectiveDisplay(undefined, undefined), 'always');
    assert.equal(effectiveDisplay('all', action), 'always');
    assert.equal(effectiveDisplay('ok', action), 'ok');
    assert.throws(() => effectiveDisplay('some', action), /--display: expected ok, failed, all/);
    assert.equal(shouldDisplay(reply(0), 'failed'), false);
    assert.equal(shouldDisplay(reply(5), 'failed'), true);
    assert.equal(shouldDisplay(reply(5), 'ok'), false);
    assert.equal(shouldDisplay(reply(0), 'always'), true);
  });

  test('outputs print under their display names in declared order, defaults filled, other fields after', () => {
    const text = formatDescribedReply(reply(0, { extra: 1, pong: 42 }), action);
    assert.match(text, /^node1\n\s+Timestamp: 42\n\s+Mood: calm\n\s+extra: 1\n/);
    assert.match(formatDescribedReply(reply(5), action), /node1\s+Error: it broke/);
    const counts = computeAggregates({ ...action, output: { ...action.output, up: { description: 'up', type: 'boolean' } } }, [reply(0, { up: true }), reply(0, { up: false }), reply(0, { up: true }), reply(5, { up: false })]);
    assert.deepEqual(counts[0]?.counts, [{ value: 'up', count: 2 }, { value: 'down', count: 1 }]);
  });
});
