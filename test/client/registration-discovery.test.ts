/**
 * `--dm registration` over the network, end to end over the memory bus with aes_security daemons: nodes register
 * with a collector (the registration agent and its default sqlite store), and a client on another identity, with
 * no store settings, finds them through `registration_query#find`: every filter kind, the collective (-T), pages,
 * authorization and audit, refusals of bad input.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryBroker } from '../../plugins/connector/memory/index.js';
import { RegistrationQueryDiscoverer, connectClient, type ClientSession } from '../../src/client/index.js';
import { configFromObject } from '../../src/config/index.js';
import { RpcError } from '../../src/errors.js';
import { generateKeyPairFiles } from '../../src/keys/index.js';
import { CapturingLogger } from '../../src/util/log.js';
import { waitFor } from '../daemon/helpers.js';
import { startCluster, type Cluster, type NodeSpec } from './cluster.js';

const BROKER = `registration-discovery-${process.pid}`;
const memory = { connector: 'memory', 'plugin.memory.broker': BROKER, discovery_timeout: 1, collectives: 'mcollective,uk', main_collective: 'mcollective' };
const work = mkdtempSync(join(tmpdir(), 'tsc-regdisc-'));
const auditLog = join(work, 'audit.log');
const registering = { registerinterval: 1, registration: 'facts' };

const NODES: NodeSpec[] = [
  {
    identity: 'collector', facts: { country: 'de', role: 'collector' }, classes: ['base'],
    settings: { ...registering, 'plugin.registration.activate_agent': 1, rpcaudit: 1, 'plugin.rpcaudit.logfile': auditLog },
  },
  { identity: 'web1', facts: { country: 'uk', role: 'web', cores: '4' }, classes: ['web', 'base'], settings: registering },
  { identity: 'web2', facts: { country: 'de', role: 'web', cores: '8' }, classes: ['web', 'base'], settings: { ...registering, collectives: 'mcollective' } },
  { identity: 'db1', facts: { country: 'uk', role: 'db', cores: '16' }, classes: ['db', 'base'], settings: registering },
];
const REGISTRATION_POLICY = 'policy default deny\nallow\tcert=collector cert=web1 cert=web2 cert=db1\tregister\t*\t*\n';

function auditLines(): Array<Record<string, unknown>> {
  return existsSync(auditLog) ? readFileSync(auditLog, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>) : [];
}

describe('--dm registration over the network (memory bus, aes_security)', () => {
  let cluster: Cluster;
  let session: ClientSession;
  let outsider: ClientSession;

  before(async () => {
    cluster = await startCluster(memory, NODES, { policies: { 'registration.policy': REGISTRATION_POLICY } });
    // tester's configuration names no store: plugin.registration.* is not set at all.
    assert.ok(!Object.keys(cluster.clientSettings).some((key) => key.startsWith('plugin.registration.')));
    session = await connectClient(configFromObject(cluster.clientSettings), { logger: new CapturingLogger() });
    // A caller whose key the servers know, but whom the policy (default.policy: tester only) does not allow.
    const keys = await generateKeyPairFiles('outsider', { dir: join(work, 'outsider') });
    copyFileSync(keys.publicPath, join(cluster.certDir, 'outsider.pem'));
    outsider = await connectClient(configFromObject({
      ...cluster.clientSettings, identity: 'outsider', 'plugin.aes.client_private': keys.privatePath, 'plugin.aes.client_public': keys.publicPath,
    }), { logger: new CapturingLogger() });
    await waitFor(() => cluster.daemons.every((daemon) => daemon.counters.get('registration.acknowledged') >= 1), 'every node\'s first acknowledged registration', 20_000);
  });
  after(async () => {
    await session?.close();
    await outsider?.close();
    await cluster?.stop();
    MemoryBroker.named(BROKER).stop();
    rmSync(work, { recursive: true, force: true });
  });

  const discover = (filter: Parameters<ClientSession['client']['discover']>[0] = {}, options: ConstructorParameters<typeof RegistrationQueryDiscoverer>[1] = {}) =>
    session.client.discover({ ...filter, discoverer: new RegistrationQueryDiscoverer(session.client, options) });

  test('only the collector hosts registration and registration_query; its store is the default sqlite file', () => {
    assert.deepEqual(cluster.daemons.filter((d) => d.agents().includes('registration_query')).map((d) => d.identity), ['collector']);
    assert.deepEqual(cluster.daemons.filter((d) => d.agents().includes('registration')).map((d) => d.identity), ['collector']);
    assert.ok(existsSync(join(cluster.dir, 'collector', 'state', 'registration.sqlite')));
    assert.ok(!existsSync(join(cluster.dir, 'web1', 'state', 'registration.sqlite')), 'a plain node keeps no store');
  });

  test('every node\'s registration is found over the network, with every filter kind', async () => {
    assert.deepEqual(await discover(), ['collector', 'db1', 'web1', 'web2']);
    assert.deepEqual(await discover({ filter: { fact: [{ fact: 'country', operator: '==', value: 'uk' }] } }), ['db1', 'web1']);
    assert.deepEqual(await discover({ filter: { fact: [{ fact: 'cores', operator: '>=', value: '8' }] } }), ['db1', 'web2']);
    assert.deepEqual(await discover({ filter: { cf_class: ['web'] } }), ['web1', 'web2']);
    assert.deepEqual(await discover({ filter: { agent: ['example'] } }), ['collector', 'db1', 'web1', 'web2']);
    assert.deepEqual(await discover({ filter: { identity: ['/^web/'] } }), ['web1', 'web2']);
    assert.deepEqual(await discover({ filter: { compound: ['country=uk and not role=db'] } }), ['web1']);
    assert.deepEqual(await discover({ filter: { cf_class: ['nosuchclass'] } }), []);
  });

  test('the collective is honoured: -T uk finds the nodes that registered membership of uk', async () => {
    assert.deepEqual(await discover({ collective: 'uk' }), ['collector', 'db1', 'web1']);
    assert.deepEqual(await discover({ collective: 'uk', filter: { cf_class: ['web'] } }), ['web1']);
  });

  test('each name comes with its registration\'s signer and proof, and the collector that reported it', async () => {
    const discoverer = new RegistrationQueryDiscoverer(session.client);
    await session.client.discover({ discoverer, filter: { identity: ['web1'] } });
    assert.deepEqual({ ...discoverer.registrations.get('web1') }, {
      identity: 'web1', signer: 'cert=web1', senderProof: 'key-name', authenticated: true,
      collector: { identity: 'collector', signer: 'cert=collector', senderProof: 'key-name' },
    });
  });

  test('answers come a page at a time; the union of the pages is the whole answer', async () => {
    assert.deepEqual(await discover({}, { pageSize: 1 }), ['collector', 'db1', 'web1', 'web2']);
    const finds = auditLines().filter((line) => line['agent'] === 'registration_query' && (line['data'] as { limit?: number }).limit === 1);
    assert.ok(finds.length >= 4, 'one find per page: four pages of one node each, the last saying there is no more');
    assert.ok(finds.some((line) => (line['data'] as { after?: string }).after === 'web1'));
  });

  test('an RPC call uses the registration discovery to choose its targets', async () => {
    const result = await session.client.call('example', 'echo', { message: 'hi' }, {
      filter: { cf_class: ['web'] }, discoverer: new RegistrationQueryDiscoverer(session.client),
    });
    assert.deepEqual(result.items.map((item) => item.sender).sort(), ['web1', 'web2']);
    assert.equal(result.stats.discovered, 2);
  });

  test('a caller the policy does not allow is refused (status 1, counted, logged); only authorized finds are audited', async () => {
    const collector = cluster.daemons.find((d) => d.identity === 'collector')!;
    const denied = collector.stats().unauthorized;
    await assert.rejects(outsider.client.discover({ discoverer: new RegistrationQueryDiscoverer(outsider.client) }),
      (error: unknown) => error instanceof RpcError && /collector: status 1: cert=outsider is not authorized to call registration_query#find/.test(error.message));
    // Only the find: the discovery ping that finds the collector is exempt from action policy (docs/daemon.md).
    assert.equal(collector.stats().unauthorized, denied + 1);
    const loggerOfCollector = cluster.loggers[cluster.daemons.indexOf(collector)]!;
    assert.ok(loggerOfCollector.find('warn', 'denied cert=outsider calling registration_query#find').length >= 1);
    const finds = auditLines().filter((line) => line['agent'] === 'registration_query');
    assert.ok(finds.length > 0 && finds.every((line) => line['caller'] === 'cert=tester@tester' && line['action'] === 'find'));
  });

  test('bad input is refused with status 4: a malformed filter, a page too large, another collective, an unknown filter list, a bad cursor', async () => {
    const find = async (data: Record<string, unknown>) => (await session.client.call('registration_query', 'find', data, { nodes: ['collector'] })).items[0]!;
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ collective: 'mcollective', filter: { fact: [{ fact: 'os', operator: '=~', value: '/(?=x)/' }] } }, /lookahead/],
      [{ collective: 'mcollective', limit: 10_001 }, /input limit: 10001 is above the maximum 10000/],
      [{ collective: 'uk' }, /input collective: "uk" is not the collective this request was sent in \(mcollective\)/],
      [{ collective: 'mcollective', filter: { facts: [] } }, /input filter: "facts" is not a filter list/],
      [{ collective: 'mcollective', after: '../x' }, /page\.after/],
    ];
    for (const [data, reason] of cases) {
      const reply = await find(data);
      assert.equal(reply.statuscode, 4, JSON.stringify(data));
      assert.match(reply.statusmsg, reason);
    }
  });
});
