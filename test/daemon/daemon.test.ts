/**
 * The daemon over an in-process memory bus with a test-double security provider: filters,
 * every status code, authorization, audit, security counters, rpcutil, reload and graceful stop.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { MemoryBroker, MemoryConnector } from '../../plugins/connector/memory/index.js';
import { configFromObject } from '../../src/config/index.js';
import { startDaemon, type DaemonHandle } from '../../src/daemon/index.js';
import { ConfigError } from '../../src/errors.js';
import { CapturingLogger } from '../../src/util/log.js';
import { MemoryCounters } from '../../src/util/counters.js';
import { gate, testAgent } from './agents.js';
import { FakeSecurity } from './fake-security.js';
import { filter, tempDir, TestClient, waitFor } from './helpers.js';

const secrets = new Map([['alice', 'a-secret'], ['bob', 'b-secret'], ['node1', 'n1-secret'], ['node2', 'n2-secret']]);
const dir = tempDir('pipeline');
const broker = new MemoryBroker({ name: 'daemon-test' });

function writeNodeFiles(name: string, facts: string, classes: string): { facts: string; classes: string } {
  const paths = { facts: join(dir, `${name}.facts.yaml`), classes: join(dir, `${name}.classes.txt`) };
  writeFileSync(paths.facts, facts);
  writeFileSync(paths.classes, classes);
  return paths;
}

async function node(identity: string, settings: Record<string, string | number>, logger = new CapturingLogger()): Promise<{ daemon: DaemonHandle; logger: CapturingLogger; security: FakeSecurity }> {
  const config = configFromObject({ identity, collectives: 'mcollective', connector: 'memory', ...settings }, { source: join(dir, `${identity}.cfg`) });
  const security = new FakeSecurity(identity, secrets);
  const connector = new MemoryConnector({ identity, logger, counters: new MemoryCounters(), broker });
  const daemon = await startDaemon(config, { provider: security, connector, logger, agents: [testAgent] });
  return { daemon, logger, security };
}

describe('daemon over the memory bus', () => {
  let node1: Awaited<ReturnType<typeof node>>;
  let node2: Awaited<ReturnType<typeof node>>;
  let alice: TestClient;
  let bob: TestClient;
  const policyDir = join(dir, 'policies');
  const auditLog = join(dir, 'audit.log');

  before(async () => {
    mkdirSync(policyDir);
    writeFileSync(join(policyDir, 'rpcutil.policy'), 'policy default deny\nallow\tcert=alice\t*\t*\t*\n');
    const files1 = writeNodeFiles('node1', 'country: uk\nrole: web\nuptime: 7200\nos:\n  family: debian\n', 'webserver\nbase\n');
    const files2 = writeNodeFiles('node2', 'country: de\nrole: db\nuptime: 300\nos:\n  family: redhat\n', 'database\nbase\n');
    node1 = await node('node1', {
      'plugin.yaml': files1.facts, classesfile: files1.classes,
      rpcauthorization: 1, 'plugin.actionpolicy.policy_dir': policyDir, 'plugin.actionpolicy.allow_unconfigured': 1,
      rpcaudit: 1, 'plugin.rpcaudit.logfile': auditLog, 'plugin.testagent.greeting': 'hello from node1',
      'plugin.aes.client_private': '/secret/key.pem',
    });
    node2 = await node('node2', { 'plugin.yaml': files2.facts, classesfile: files2.classes });
    alice = new TestClient(broker, new FakeSecurity('alice', secrets));
    bob = new TestClient(broker, new FakeSecurity('bob', secrets));
    await alice.start();
    await bob.start();
  });

  after(async () => {
    await alice.stop();
    await bob.stop();
    await node1.daemon.stop();
    await node2.daemon.stop();
  });

  test('an empty filter reaches every node', async () => {
    const replies = await alice.call('discovery', 'ping', {}, { count: 2 });
    assert.deepEqual(replies.map((r) => r.senderid).sort(), ['node1', 'node2']);
    assert.equal(replies[0]!.body.data['message'], 'pong');
  });

  test('identity, fact, class, agent and compound filters select nodes; the others drop silently', async () => {
    const cases: [ReturnType<typeof filter>, string[]][] = [
      [filter({ identity: ['node1'] }), ['node1']],
      [filter({ identity: ['/node[12]/'] }), ['node1', 'node2']],
      [filter({ fact: [{ fact: 'country', operator: '==', value: 'uk' }] }), ['node1']],
      [filter({ fact: [{ fact: 'uptime', operator: '>=', value: '1000' }] }), ['node1']],
      [filter({ fact: [{ fact: 'os.family', operator: '=~', value: '/hat$/' }] }), ['node2']],
      [filter({ cf_class: ['/data/'] }), ['node2']],
      [filter({ cf_class: ['base'] }), ['node1', 'node2']],
      [filter({ agent: ['testagent'] }), ['node1', 'node2']],
      [filter({ agent: ['puppet'] }), []],
      [filter({ compound: ['country=uk and (role=web or /data/) and not os.family=redhat'] }), ['node1']],
      [filter({ compound: ["fact('country')=de or webserver"] }), ['node1', 'node2']],
    ];
    for (const [f, expected] of cases) {
      const filteredBefore = node1.daemon.stats().filtered + node2.daemon.stats().filtered;
      const requestid = await alice.send('discovery', { action: 'ping', data: {} }, { filter: f });
      await waitFor(() => alice.repliesTo(requestid).length === expected.length
        && node1.daemon.stats().filtered + node2.daemon.stats().filtered === filteredBefore + 2 - expected.length, `filter ${JSON.stringify(f)}`);
      assert.deepEqual(alice.repliesTo(requestid).map((r) => r.senderid).sort(), expected, JSON.stringify(f));
    }
  });

  test('a request whose filter does not parse is dropped, counted and logged', async () => {
    const before = node2.daemon.stats().bad_filter;
    await alice.send('discovery', { action: 'ping', data: {} }, { filter: filter({ compound: ['country=uk and ('] }), node: 'node2' });
    await waitFor(() => node2.daemon.stats().bad_filter === before + 1, 'bad_filter counter');
    assert.ok(node2.logger.find('warn', 'request filter is invalid').length > 0);
  });

  test('each RPC status code', async () => {
    const one = async (action: string, data: Record<string, unknown> = {}) => (await bob.call('testagent', action, data, { node: 'node2' }))[0]!.body;
    assert.deepEqual(await one('echo', { msg: 'hi', count: 2 }), { statuscode: 0, statusmsg: 'OK', data: { msg: 'hihi' } });
    const unknown = await one('nope');
    assert.equal(unknown.statuscode, 2);
    assert.match(unknown.statusmsg, /unknown action nope/);
    const missing = await one('echo', {});
    assert.equal(missing.statuscode, 3);
    assert.match(missing.statusmsg, /msg/);
    for (const bad of [{ msg: 'semi;colon' }, { msg: 'x', count: 'two' }, { msg: 'x', count: 9 }, { msg: 'x', colour: 'blue' }, { msg: 'x', extra: 1 }, { msg: 'y'.repeat(65) }]) {
      assert.equal((await one('echo', bad)).statuscode, 4, JSON.stringify(bad));
    }
    const refused = await one('refuse');
    assert.deepEqual([refused.statuscode, refused.statusmsg], [4, 'refusing on purpose']);
    const boom = await one('boom');
    assert.deepEqual([boom.statuscode, boom.statusmsg], [5, 'the disk is on fire']);
    assert.ok(node2.logger.find('error', 'the disk is on fire').length > 0);
    const slow = await one('slow');
    assert.deepEqual([slow.statuscode, slow.statusmsg], [1, 'aborted: timed out after 1s']);
    const statuses = node2.daemon.stats().statuses;
    for (const code of ['0', '1', '2', '3', '4', '5']) assert.ok((statuses[code] ?? 0) >= 1, `status ${code} counted`);
  });

  test('plugin.<agent>.* settings reach the agent as ctx.config', async () => {
    const [reply] = await alice.call('testagent', 'greeting', {}, { node: 'node1' });
    assert.deepEqual(reply!.body.data, { greeting: 'hello from node1', caller: 'cert=alice' });
  });

  test('action policy: alice may use rpcutil, bob is denied with a status 1 naming him and a log line', async () => {
    const [allowed] = await alice.call('rpcutil', 'ping', {}, { node: 'node1' });
    assert.equal(allowed!.body.statuscode, 0);
    const [denied] = await bob.call('rpcutil', 'ping', {}, { node: 'node1' });
    assert.equal(denied!.body.statuscode, 1);
    assert.match(denied!.body.statusmsg, /cert=bob is not authorized to call rpcutil#ping/);
    assert.ok(node1.logger.find('warn', 'denied cert=bob calling rpcutil#ping').length > 0);
    assert.ok(node1.daemon.stats().unauthorized >= 1);
  });

  test('an unknown client is refused by the security provider: no reply, counted by code', async () => {
    const mallory = new TestClient(broker, new FakeSecurity('mallory', new Map([['mallory', 'm-secret']])));
    await mallory.start();
    const before = node1.daemon.stats();
    await mallory.send('rpcutil', { action: 'ping', data: {} }, { node: 'node1' });
    await waitFor(() => node1.daemon.stats().unvalidated === before.unvalidated + 1, 'the refusal');
    const after = node1.daemon.stats();
    assert.equal(after.security['TSC_SEC_UNKNOWN_SENDER'], (before.security['TSC_SEC_UNKNOWN_SENDER'] ?? 0) + 1);
    assert.equal(after.replies, before.replies);
    assert.ok(node1.logger.find('warn', 'request refused by the security provider').length > 0);
    await mallory.stop();
  });

  test('expired and replayed requests are counted as ttlexpired and replayed', async () => {
    const before = node2.daemon.stats();
    await alice.send('discovery', { action: 'ping', data: {} }, { node: 'node2', ttl: 10, msgtime: Math.floor(Date.now() / 1000) - 100 });
    await waitFor(() => node2.daemon.stats().ttlexpired === before.ttlexpired + 1, 'ttlexpired');
    const { wire } = alice.security.encodeRequest({ requestid: 'ab'.repeat(16), senderid: 'client.example', agent: 'discovery', collective: 'mcollective', filter: filter(), ttl: 60, body: { action: 'ping', data: {} } });
    await alice.connector.publishRequest({ collective: 'mcollective', agent: 'discovery', node: 'node2', body: wire, ttl: 60 });
    await alice.connector.publishRequest({ collective: 'mcollective', agent: 'discovery', node: 'node2', body: wire, ttl: 60 });
    await waitFor(() => node2.daemon.stats().replayed === before.replayed + 1, 'replayed');
    const after = node2.daemon.stats();
    assert.equal(after.security['TSC_SEC_EXPIRED'], (before.security['TSC_SEC_EXPIRED'] ?? 0) + 1);
    assert.equal(after.security['TSC_SEC_REPLAYED'], (before.security['TSC_SEC_REPLAYED'] ?? 0) + 1);
  });

  test('the audit log gets one JSON line per request with time, requestid, caller, agent, action, data', async () => {
    const [reply] = await alice.call('testagent', 'echo', { msg: 'audited' }, { node: 'node1' });
    const lines = readFileSync(auditLog, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    const line = lines.find((entry) => entry['requestid'] === reply!.requestid);
    assert.ok(line, 'an audit line for the request');
    assert.deepEqual({ ...line, time: undefined }, { time: undefined, requestid: reply!.requestid, caller: 'cert=alice@client.example', agent: 'testagent', action: 'echo', data: { msg: 'audited' } });
    assert.ok(!Number.isNaN(Date.parse(String(line['time']))));
  });

  test('rpcutil reports facts, inventory, stats, agents, config items and collectives', async () => {
    const call = async (action: string, data: Record<string, unknown> = {}) => (await alice.call('rpcutil', action, data, { node: 'node1' }))[0]!.body;
    assert.deepEqual((await call('get_fact', { fact: 'os.family' })).data, { fact: 'os.family', value: 'debian' });
    assert.deepEqual((await call('get_fact', { fact: 'nothere' })).data, { fact: 'nothere', value: null });
    assert.deepEqual((await call('get_facts', { facts: 'country, role' })).data, { values: { country: 'uk', role: 'web' } });
    const inventory = (await call('inventory')).data;
    assert.deepEqual(inventory['classes'], ['webserver', 'base']);
    assert.ok((inventory['agents'] as string[]).includes('testagent'));
    const stats = (await call('daemon_stats')).data;
    for (const key of ['total', 'passed', 'filtered', 'ttlexpired', 'replayed', 'replies', 'validated', 'unvalidated', 'starttime', 'agents', 'pid', 'version', 'configfile']) {
      assert.ok(key in stats, `daemon_stats has ${key}`);
    }
    assert.equal(stats['pid'], process.pid);
    assert.ok((stats['total'] as number) >= (stats['passed'] as number));
    const agents = (await call('agent_inventory')).data['agents'] as { agent: string; actions: string[] }[];
    assert.deepEqual(agents.find((a) => a.agent === 'testagent')?.actions, ['boom', 'echo', 'greeting', 'refuse', 'slow', 'wait']);
    assert.deepEqual((await call('get_config_item', { item: 'identity' })).data, { item: 'identity', value: 'node1' });
    assert.equal((await call('get_config_item', { item: 'plugin.aes.client_private' })).statuscode, 4);
    assert.deepEqual((await call('collective_info')).data, { main_collective: 'mcollective', collectives: ['mcollective'] });
  });

  test('reload() drops cached keys and picks up a new agent from libdir', async () => {
    const libdir = tempDir('libdir');
    mkdirSync(join(libdir, 'agent'));
    const identity = 'node3';
    secrets.set(identity, 'n3-secret');
    const config = configFromObject({ identity, collectives: 'mcollective', connector: 'memory', libdir, 'plugin.yaml': join(dir, 'none.yaml') });
    const security = new FakeSecurity(identity, secrets);
    const logger = new CapturingLogger();
    const daemon = await startDaemon(config, { provider: security, connector: new MemoryConnector({ identity, logger, counters: new MemoryCounters(), broker }), logger });
    try {
      assert.ok(!daemon.agents().includes('hello'));
      const define = pathToFileURL(join(import.meta.dirname, '../../src/agent/define.js')).href;
      writeFileSync(join(libdir, 'agent', 'hello.js'), `import { defineAgent } from ${JSON.stringify(define)};\nexport default defineAgent({ name: 'hello', version: '1', description: 'says hello', actions: { hi: { description: 'hi', handler: () => ({ hi: 'there' }) } } });\n`);
      writeFileSync(join(libdir, 'agent', 'broken.js'), 'export default 42;\n');
      const result = await daemon.reload();
      assert.equal(security.reloads, 1);
      assert.ok(result.agents.includes('hello'));
      assert.equal(result.problems.length, 1);
      assert.match(result.problems[0]!, /broken\.js: the default export is not an agent/);
      const [reply] = await alice.call('hello', 'hi', {}, { node: identity });
      assert.deepEqual(reply!.body.data, { hi: 'there' });
    } finally {
      await daemon.stop();
    }
  });

  test('stop() lets an in-flight request finish and reply, then refuses new work', async () => {
    const identity = 'node4';
    secrets.set(identity, 'n4-secret');
    const config = configFromObject({ identity, collectives: 'mcollective', connector: 'memory', 'plugin.yaml': join(dir, 'none.yaml'), soft_shutdown_timeout: 30 });
    const logger = new CapturingLogger();
    const daemon = await startDaemon(config, { provider: new FakeSecurity(identity, secrets), connector: new MemoryConnector({ identity, logger, counters: new MemoryCounters(), broker }), logger, agents: [testAgent] });
    gate.open = undefined;
    const requestid = await alice.send('testagent', { action: 'wait', data: {} }, { node: identity });
    await waitFor(() => gate.open !== undefined, 'the action to start');
    const stopped = daemon.stop();
    let stopDone = false;
    void stopped.then(() => { stopDone = true; });
    await waitFor(() => logger.find('info', 'waiting for in-flight requests').length > 0, 'stop to wait');
    assert.equal(stopDone, false);
    gate.open!();
    await stopped;
    await waitFor(() => alice.repliesTo(requestid).length === 1, 'the in-flight reply');
    assert.deepEqual(alice.repliesTo(requestid)[0]!.body.data, { waited: true });
  });

  test('a bad configuration lists every problem and starts nothing', async () => {
    const config = configFromObject({ identity: 'bad name!', collectives: 'mcollective', rpcauthorization: 1, rpcauthprovider: 'ldap', rpcaudit: 1, rpcauditprovider: 'syslog', registration: 'bogus', factsource: 'facter' });
    await assert.rejects(
      startDaemon(config, { provider: new FakeSecurity('nobody', secrets), connector: new MemoryConnector({ identity: 'x', logger: new CapturingLogger(), counters: new MemoryCounters(), broker }), logger: new CapturingLogger() }),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        const text = error.problems.join('\n');
        for (const key of ['identity', 'rpcauthprovider', 'rpcauditprovider', 'registration', 'factsource']) assert.match(text, new RegExp(`^\\(memory\\): ${key}:`, 'm'));
        assert.match(text, /no secret for own identity/);
        return true;
      },
    );
  });
});
