/**
 * The collector side: which daemons host the registration agents (a plain node never does), the store a collector
 * opens (each backend: a node's registration ends up in it and is found by registration_query#find), expiry, and
 * what a failing store does to acknowledgements.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MemoryBroker, MemoryConnector } from '../../plugins/connector/memory/index.js';
import { configFromObject } from '../../src/config/index.js';
import { startDaemon, type DaemonHandle } from '../../src/daemon/index.js';
import { ConfigError } from '../../src/errors.js';
import { RegistrationCollector } from '../../src/registration/collector.js';
import { MemoryCounters } from '../../src/util/counters.js';
import { CapturingLogger } from '../../src/util/log.js';
import { FakeSecurity } from '../daemon/fake-security.js';
import { filter, tempDir, TestClient, waitFor } from '../daemon/helpers.js';
import { fixture, forEachBackend, type BackendFixture } from './backends.js';

const secrets = new Map([['collector', 'c'], ['node1', 'n1'], ['node2', 'n2'], ['asker', 'a']]);
const broker = new MemoryBroker({ name: `collector-test-${process.pid}` });
after(() => broker.stop());

async function daemon(identity: string, settings: Record<string, string | number>): Promise<{ daemon: DaemonHandle; logger: CapturingLogger }> {
  const logger = new CapturingLogger();
  const config = configFromObject({ identity, connector: 'memory', statedir: join(tempDir(identity), 'state'), 'plugin.yaml': '/nonexistent.yaml', ...settings });
  const handle = await startDaemon(config, {
    provider: new FakeSecurity(identity, secrets), logger,
    connector: new MemoryConnector({ identity, logger, counters: new MemoryCounters(), broker }),
  });
  return { daemon: handle, logger };
}

const hosts = (handle: DaemonHandle): string[] => handle.agents().filter((name) => name.startsWith('registration'));

describe('which daemons collect', () => {
  test('a plain node hosts neither registration agent and creates no store, although sqlite is the default backend', async () => {
    const statedir = join(tempDir('plain'), 'state');
    const { daemon: node } = await daemon('node1', { statedir });
    try {
      assert.deepEqual(hosts(node), []);
      assert.ok(!existsSync(join(statedir, 'registration.sqlite')));
    } finally {
      await node.stop();
    }
  });

  test('plugin.registration.activate_agent = 1 collects into <statedir>/registration.sqlite', async () => {
    const statedir = join(tempDir('collector-default'), 'state');
    const { daemon: collector } = await daemon('collector', { 'plugin.registration.activate_agent': 1, statedir });
    try {
      assert.deepEqual(hosts(collector), ['registration', 'registration_query']);
      assert.ok(existsSync(join(statedir, 'registration.sqlite')));
    } finally {
      await collector.stop();
    }
  });

  test('a store named explicitly collects; activate_agent = 0 keeps only the query agent (a front end to a shared store)', async () => {
    const dir = tempDir('collector-named');
    const named = await daemon('collector', { 'plugin.registration.store': 'directory', 'plugin.registration.store_dir': join(dir, 'a') });
    const queryOnly = await daemon('collector', { 'plugin.registration.sqlite.path': join(dir, 'b.sqlite'), 'plugin.registration.activate_agent': 0 });
    const noQuery = await daemon('collector', { 'plugin.registration.sqlite.path': join(dir, 'c.sqlite'), 'plugin.registration_query.activate_agent': 0 });
    try {
      assert.deepEqual(hosts(named.daemon), ['registration', 'registration_query']);
      assert.deepEqual(hosts(queryOnly.daemon), ['registration_query']);
      assert.deepEqual(hosts(noQuery.daemon), ['registration']);
    } finally {
      await Promise.all([named.daemon.stop(), queryOnly.daemon.stop(), noQuery.daemon.stop()]);
    }
  });

  test('a collector with broken store settings does not start, and names every problem', async () => {
    await assert.rejects(daemon('collector', { 'plugin.registration.store': 'postgresql', 'plugin.registration.sqlite.path': '/x.sqlite' }), (error: unknown) =>
      error instanceof ConfigError && /postgresql needs plugin\.registration\.postgresql\.url/.test(error.message) && /sqlite\.path: applies to store = sqlite only/.test(error.message));
  });
});

forEachBackend('a collector', (backend) => {
  const place: BackendFixture = fixture(backend);
  after(() => place.cleanup());

  const storeSettings = (): Record<string, string> => {
    const settings = place.settings;
    switch (settings.backend) {
      case 'sqlite': return { 'plugin.registration.store': 'sqlite', 'plugin.registration.sqlite.path': settings.path };
      case 'directory': return { 'plugin.registration.store': 'directory', 'plugin.registration.store_dir': settings.dir };
      case 'postgresql': return { 'plugin.registration.store': 'postgresql', 'plugin.registration.postgresql.url': settings.url, 'plugin.registration.postgresql.schema': settings.schema };
    }
  };

  test('stores a node\'s registration, acknowledges it, and finds it for registration_query#find in its collective', async () => {
    const collector = await daemon('collector', { ...storeSettings(), collectives: 'mcollective,ops', main_collective: 'mcollective' });
    const node = await daemon('node1', { registerinterval: 60, registration: 'facts', collectives: 'mcollective,ops', main_collective: 'mcollective' });
    const asker = new TestClient(broker, new FakeSecurity('asker', secrets), 'ops');
    try {
      await waitFor(() => node.daemon.counters.get('registration.acknowledged') === 1, 'the acknowledgement');
      assert.equal(collector.daemon.counters.get('registration.stored'), 1);
      await asker.start();
      const [reply] = await asker.call('registration_query', 'find', { collective: 'ops', filter: { identity: ['node1'] } }, { filter: filter({ agent: ['registration_query'] }) });
      assert.equal(reply!.body.statuscode, 0, reply!.body.statusmsg);
      assert.deepEqual(reply!.body.data, { nodes: [{ identity: 'node1', signer: 'cert=node1', senderProof: 'key-name' }], more: false, stale_after: 900 });
      assert.equal(reply!.senderid, 'collector');
    } finally {
      await asker.stop();
      await node.daemon.stop();
      await collector.daemon.stop();
    }
  });
});

describe('a failing store', () => {
  test('a registration the store cannot write is not acknowledged (the node sends it again), counted, and logged at a bounded rate', async () => {
    const storeDir = join(tempDir('failing'), 'store');
    const collector = await daemon('collector', { 'plugin.registration.store_dir': storeDir });
    const node = new TestClient(broker, new FakeSecurity('node1', secrets));
    try {
      await node.start();
      const register = (): Promise<string> => node.send('registration', ['rpcutil'], { senderid: 'node1', filter: filter({ agent: ['registration'] }) });
      const first = await register();
      await waitFor(() => node.repliesTo(first).length === 1, 'the first acknowledgement');
      // The store's directory turns into a file: every write fails from now on (for root too).
      rmSync(storeDir, { recursive: true });
      writeFileSync(storeDir, 'not a directory\n');
      const failing: string[] = [];
      for (let i = 0; i < 12; i++) failing.push(await register());
      await waitFor(() => collector.daemon.counters.get('registration.store_failures') === 12, 'twelve store failures');
      await new Promise((resolve) => setTimeout(resolve, 100));
      assert.deepEqual(failing.map((id) => node.repliesTo(id).length), Array(12).fill(0), 'no acknowledgement and no error reply: the node sends it again');
      assert.equal(collector.daemon.counters.get('registration.stored'), 1);
      assert.equal(collector.logger.find('error', 'could not store the registration of node1; not acknowledged').length, 10, 'a burst of lines, then a summary');
    } finally {
      await node.stop();
      await collector.daemon.stop();
    }
  });
});

describe('expiry', () => {
  test('expire_after removes the nodes not seen for that long, counts and logs them', async () => {
    const T0 = 1_700_000_000_000;
    const logger = new CapturingLogger();
    const counters = new MemoryCounters();
    const config = configFromObject({ 'plugin.registration.sqlite.path': join(tempDir('expiry'), 'r.sqlite'), 'plugin.registration.expire_after': 600 });
    const collector = await RegistrationCollector.open(config, { logger, counters, now: () => T0 });
    try {
      const node = (identity: string, age: number) => ({ identity, collective: 'mcollective', signer: `cert=${identity}`, senderProof: 'key-name', agents: [], time: T0 - age * 1000 });
      await collector.record(node('gone', 601));
      await collector.record(node('edge', 600));
      await collector.record(node('fresh', 1));
      assert.deepEqual(await collector.expireNow(), ['gone']);
      assert.deepEqual(await collector.store.query(), ['edge', 'fresh']);
      assert.equal(counters.get('registration.expired'), 1);
      assert.equal(logger.find('info', 'removed 1 node(s) not seen for 600 s: gone').length, 1);
    } finally {
      await collector.close();
    }
  });

  test('a collecting daemon expires on a timer', async () => {
    const dir = tempDir('expiry-timer');
    const collector = await daemon('collector', { 'plugin.registration.sqlite.path': join(dir, 'r.sqlite'), 'plugin.registration.expire_after': 2 });
    const node = new TestClient(broker, new FakeSecurity('node2', secrets));
    try {
      await node.start();
      const requestid = await node.send('registration', ['rpcutil'], { senderid: 'node2', filter: filter({ agent: ['registration'] }) });
      await waitFor(() => node.repliesTo(requestid).length === 1, 'the acknowledgement');
      // node2 never registers again: within expire_after plus one check (every 1 s here) it is gone.
      await waitFor(() => collector.daemon.counters.get('registration.expired') === 1, 'the expiry', 20_000);
      assert.ok(collector.logger.find('info', 'not seen for 2 s: node2').length === 1);
    } finally {
      await node.stop();
      await collector.daemon.stop();
    }
  });

  test('without expire_after nothing is ever removed', async () => {
    const collector = await RegistrationCollector.open(configFromObject({ 'plugin.registration.sqlite.path': join(tempDir('no-expiry'), 'r.sqlite') }), {
      logger: new CapturingLogger(), counters: new MemoryCounters(),
    });
    try {
      await collector.record({ identity: 'ancient', collective: 'c', signer: 'cert=ancient', senderProof: 'key-name', agents: [], time: 1 });
      assert.deepEqual(await collector.expireNow(), []);
      assert.deepEqual(await collector.store.query(), ['ancient']);
    } finally {
      await collector.close();
    }
  });
});
