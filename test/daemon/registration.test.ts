/** Registration: publisher -> bus -> registration agent -> store; forged registrations; the store API. */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MemoryBroker, MemoryConnector } from '../../plugins/connector/memory/index.js';
import { configFromObject } from '../../src/config/index.js';
import { startDaemon, type DaemonHandle } from '../../src/daemon/index.js';
import { InvalidArgumentError } from '../../src/errors.js';
import { RegistrationStore } from '../../src/registration/index.js';
import { CapturingLogger } from '../../src/util/log.js';
import { MemoryCounters } from '../../src/util/counters.js';
import { FakeSecurity } from './fake-security.js';
import { tempDir, TestClient, waitFor } from './helpers.js';

const secrets = new Map([['web1', 'w-secret'], ['registrar', 'r-secret'], ['alice', 'a-secret']]);
const dir = tempDir('registration');
const storeDir = join(dir, 'store');
const broker = new MemoryBroker({ name: 'registration-test' });

async function start(identity: string, settings: Record<string, string | number>): Promise<{ daemon: DaemonHandle; logger: CapturingLogger }> {
  const logger = new CapturingLogger();
  const config = configFromObject({ identity, collectives: 'mcollective,ops', main_collective: 'mcollective', connector: 'memory', ...settings });
  const daemon = await startDaemon(config, {
    provider: new FakeSecurity(identity, secrets),
    connector: new MemoryConnector({ identity, logger, counters: new MemoryCounters(), broker }),
    logger,
  });
  return { daemon, logger };
}

describe('registration', () => {
  let registrar: Awaited<ReturnType<typeof start>>;
  let web1: Awaited<ReturnType<typeof start>>;

  before(async () => {
    writeFileSync(join(dir, 'web1.yaml'), 'country: uk\nnet:\n  ips: [10.0.0.1, 10.0.0.2]\n');
    writeFileSync(join(dir, 'web1.classes'), 'webserver\n');
    registrar = await start('registrar', { 'plugin.registration.store_dir': storeDir, 'plugin.yaml': join(dir, 'none.yaml') });
    web1 = await start('web1', {
      registerinterval: 1, registration: 'facts', registration_collective: 'ops',
      'plugin.yaml': join(dir, 'web1.yaml'), classesfile: join(dir, 'web1.classes'),
    });
  });

  after(async () => {
    await web1.daemon.stop();
    await registrar.daemon.stop();
  });

  test('only a daemon with plugin.registration.store_dir hosts the registration agent', () => {
    assert.ok(registrar.daemon.agents().includes('registration'));
    assert.ok(!web1.daemon.agents().includes('registration'));
  });

  test('a registration is signed, published, received, stored, and never answered', async () => {
    await waitFor(() => registrar.daemon.stats().passed >= 1 && RegistrationStore.open(storeDir).get('web1') !== undefined, 'the first registration');
    assert.ok(web1.daemon.counters.get('registration.sent') >= 1);
    const record = RegistrationStore.open(storeDir).get('web1')!;
    assert.equal(record.callerid, 'cert=web1');
    assert.equal(record.collective, 'ops');
    assert.deepEqual(record.agents, ['discovery', 'rpcutil']);
    assert.deepEqual({ ...record.facts }, { country: 'uk', 'net.ips.0': '10.0.0.1', 'net.ips.1': '10.0.0.2' });
    assert.equal(Object.getPrototypeOf(record.facts), null, 'facts are own properties only');
    assert.deepEqual(record.classes, ['webserver']);
    assert.deepEqual(record.collectives, ['mcollective', 'ops']);
    assert.equal(registrar.daemon.stats().replies, 0);
  });

  test('a registration from an unknown key is rejected before the agent, and stores nothing', async () => {
    const mallory = new TestClient(broker, new FakeSecurity('mallory', new Map([['mallory', 'm']])), 'ops');
    await mallory.start();
    const before = registrar.daemon.stats();
    await mallory.connector.publishRequest({
      collective: 'ops', agent: 'registration', ttl: 60,
      body: mallory.security.encodeRequest({ requestid: 'cd'.repeat(16), senderid: 'evil', agent: 'registration', collective: 'ops', filter: { fact: [], cf_class: [], agent: ['registration'], identity: [], compound: [] }, ttl: 60, body: ['rpcutil'] }),
    });
    await waitFor(() => registrar.daemon.stats().unvalidated === before.unvalidated + 1, 'the refusal');
    assert.equal(registrar.daemon.stats().security['TSC_SEC_UNKNOWN_SENDER'], (before.security['TSC_SEC_UNKNOWN_SENDER'] ?? 0) + 1);
    assert.equal(RegistrationStore.open(storeDir).get('evil'), undefined);
    await mallory.stop();
  });

  test('a malformed registration body from a known key is logged and counted, not stored', async () => {
    const alice = new TestClient(broker, new FakeSecurity('alice', secrets), 'ops');
    await alice.start();
    await alice.send('registration', { agentlist: 'not a list' }, { collective: 'ops' });
    await waitFor(() => registrar.daemon.counters.get('agent.registration.errors') === 1, 'the agent error');
    assert.ok(registrar.logger.find('error', 'agentlist: expected a list of strings').length > 0);
    assert.equal(RegistrationStore.open(storeDir).get('client.example'), undefined);
    await alice.stop();
  });
});

describe('RegistrationStore', () => {
  test('records survive reopening; registrations are counted; firstSeen is kept', () => {
    const path = tempDir('store');
    const store = RegistrationStore.open(path);
    store.record({ identity: 'a.example', callerid: 'cert=a', collective: 'mcollective', agents: ['rpcutil'], time: 1_000 });
    store.record({ identity: 'a.example', callerid: 'cert=a', collective: 'mcollective', agents: ['rpcutil', 'service'], time: 5_000 });
    const reopened = RegistrationStore.open(path);
    const record = reopened.get('a.example')!;
    assert.deepEqual([record.firstSeen, record.lastSeen, record.registrations, record.agents], [1_000, 5_000, 2, ['rpcutil', 'service']]);
    assert.deepEqual(readdirSync(path), ['a.example.json'], 'no temporary files left behind');
  });

  test('stale() finds nodes not seen for N intervals; active() the others', () => {
    const store = RegistrationStore.open(tempDir('stale'));
    const now = 1_000_000;
    store.record({ identity: 'fresh', callerid: 'cert=f', collective: 'c', agents: [], time: now - 100_000 });
    store.record({ identity: 'old', callerid: 'cert=o', collective: 'c', agents: [], time: now - 400_000 });
    assert.deepEqual(store.stale({ interval: 60, intervals: 3, now }).map((r) => r.identity), ['old']);
    assert.deepEqual(store.active({ interval: 60, intervals: 3, now }).map((r) => r.identity), ['fresh']);
    assert.deepEqual(store.stale({ interval: 60, intervals: 1, now }).map((r) => r.identity), ['fresh', 'old']);
    assert.equal(store.remove('old'), true);
    assert.deepEqual(store.list().map((r) => r.identity), ['fresh']);
    assert.throws(() => store.stale({ interval: 0 }), InvalidArgumentError);
  });

  test('identities that could escape the directory are refused; corrupt files are skipped and reported', () => {
    const path = tempDir('corrupt');
    const corrupt: string[] = [];
    const store = RegistrationStore.open(path, { onCorrupt: (file) => corrupt.push(file) });
    assert.throws(() => store.record({ identity: '../etc/passwd', callerid: 'cert=x', collective: 'c', agents: [] }), /identity: "..\/etc\/passwd" is not a valid identity/);
    writeFileSync(join(path, 'torn.json'), '{"identity": "torn", ');
    writeFileSync(join(path, '.half.123.ab.tmp'), 'partial');
    assert.deepEqual(store.list(), []);
    assert.deepEqual(corrupt, [join(path, 'torn.json')]);
    RegistrationStore.open(path);
    assert.ok(!readdirSync(path).some((entry) => entry.endsWith('.tmp')), 'temporary files from a crash are removed on open');
  });
});
