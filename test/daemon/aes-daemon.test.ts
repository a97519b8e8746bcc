/**
 * The daemon with the real aes_security provider over the memory bus: requests from trusted
 * clients run; with automatic key learning (the seed's scenarios 2 and 4) an unknown client's
 * key is learned but the action policy denies it; registrations signed with server keys are
 * stored, forged ones are refused; SIGHUP-style reload picks up a newly trusted client.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MemoryBroker, MemoryConnector } from '../../plugins/connector/memory/index.js';
import '../../plugins/security/aes_security/index.js';
import { configFromObject } from '../../src/config/index.js';
import { startDaemon, type DaemonHandle } from '../../src/daemon/index.js';
import type { SecurityProvider } from '../../src/inter/security.js';
import { RecordFiles } from '../../src/registration/index.js';
import { createSecurityProvider } from '../../src/security/registry.js';
import { CapturingLogger } from '../../src/util/log.js';
import { MemoryCounters } from '../../src/util/counters.js';
import { tempDir, TestClient, waitFor } from './helpers.js';
import { makeKeys, trust, type KeyFiles } from './keys.js';

const dir = tempDir('aes');
const broker = new MemoryBroker({ name: 'aes-daemon-test' });

function clientProvider(key: KeyFiles, serverCertDir: string, extra: Record<string, string | number> = {}): SecurityProvider {
  const config = configFromObject({
    'plugin.aes.client_private': key.privatePath, 'plugin.aes.client_public': key.publicPath,
    'plugin.aes.client_cert_dir': serverCertDir, ...extra,
  });
  return createSecurityProvider('aes_security', { config, role: 'client', logger: new CapturingLogger(), counters: new MemoryCounters() });
}

async function daemon(identity: string, key: KeyFiles, settings: Record<string, string | number>): Promise<{ daemon: DaemonHandle; logger: CapturingLogger }> {
  const logger = new CapturingLogger();
  const config = configFromObject({
    identity, collectives: 'mcollective', connector: 'memory', securityprovider: 'aes_security', 'plugin.yaml': join(dir, 'none.yaml'),
    'plugin.aes.server_private': key.privatePath, 'plugin.aes.server_public': key.publicPath, statedir: join(dir, 'state', identity), ...settings,
  }, { source: join(dir, `${identity}.cfg`) });
  const started = await startDaemon(config, { connector: new MemoryConnector({ identity, logger, counters: new MemoryCounters(), broker }), logger });
  return { daemon: started, logger };
}

describe('daemon with aes_security', () => {
  let alice: KeyFiles, mallory: KeyFiles, carol: KeyFiles, node1: KeyFiles, node2: KeyFiles, rogue: KeyFiles;
  let server: Awaited<ReturnType<typeof daemon>>;
  let registrar: Awaited<ReturnType<typeof daemon>>;
  const serverCerts = join(dir, 'server-certs');
  const clientCerts = join(dir, 'client-certs');
  const registrarCerts = join(dir, 'registrar-certs');
  const storeDir = join(dir, 'store');

  before(async () => {
    [alice, mallory, carol, node1, node2] = await Promise.all(['alice', 'mallory', 'carol', 'node1', 'node2'].map((name) => makeKeys(join(dir, 'keys'), name))) as [KeyFiles, KeyFiles, KeyFiles, KeyFiles, KeyFiles];
    rogue = await makeKeys(join(dir, 'rogue'), 'node1');
    // node2 collects registrations; node1 verifies its signed acknowledgements with node2's key.
    trust(serverCerts, alice, node2);
    trust(clientCerts, node1, node2);
    trust(registrarCerts, node1);
    const policies = join(dir, 'policies');
    mkdirSync(policies, { recursive: true });
    writeFileSync(join(policies, 'default.policy'), 'policy default deny\nallow\tcert=alice cert=carol\t*\t*\t*\n');
    server = await daemon('node1', node1, {
      'plugin.aes.client_cert_dir': serverCerts, 'plugin.aes.learn_pubkeys': 1, 'plugin.aes.insecure_learning': 1, 'plugin.aes.send_pubkey': 1,
      rpcauthorization: 1, 'plugin.actionpolicy.policy_dir': policies, 'plugin.actionpolicy.enable_default': 1,
      registerinterval: 1,
    });
    registrar = await daemon('node2', node2, { 'plugin.aes.client_cert_dir': registrarCerts, 'plugin.registration.store_dir': storeDir });
  });

  after(async () => {
    await server?.daemon.stop();
    await registrar?.daemon.stop();
  });

  test('a trusted client gets a signed, decrypted reply', async () => {
    const client = new TestClient(broker, clientProvider(alice, clientCerts));
    await client.start();
    const [reply] = await client.call('rpcutil', 'ping', {}, { node: 'node1' });
    assert.equal(reply!.body.statuscode, 0);
    assert.equal(reply!.signer, 'cert=node1');
    await client.stop();
  });

  test('key learning on: an unknown client is learned but denied by the policy, with a log line', async () => {
    const client = new TestClient(broker, clientProvider(mallory, clientCerts, { 'plugin.aes.send_pubkey': 1 }));
    await client.start();
    const [reply] = await client.call('rpcutil', 'ping', {}, { node: 'node1' });
    assert.equal(reply!.body.statuscode, 1);
    assert.match(reply!.body.statusmsg, /cert=mallory is not authorized/);
    assert.ok(server.logger.find('warn', 'denied cert=mallory').length > 0);
    assert.ok(existsSync(join(serverCerts, 'mallory.pem')), 'the key was learned');
    await client.stop();
  });

  test('registrations signed with the server key are stored and acknowledged; a forged one is refused', async () => {
    await waitFor(() => server.daemon.counters.get('registration.acknowledged') >= 1, 'the acknowledged registration of node1');
    const record = RecordFiles.open(storeDir).get('node1')!;
    assert.deepEqual([record.signer, record.senderProof], ['cert=node1', 'key-name']);
    const forger = new TestClient(broker, clientProvider(rogue, clientCerts));
    await forger.start();
    const before = registrar.daemon.stats();
    await forger.send('registration', ['evil'], { collective: 'mcollective' });
    await waitFor(() => registrar.daemon.stats().unvalidated === before.unvalidated + 1, 'the forged registration to be refused');
    // A key that is not the trusted node1.pem: refused as a bad signature or an unknown key, depending on how the provider identifies keys.
    const sum = (stats: typeof before) => (stats.security['TSC_SEC_BAD_SIGNATURE'] ?? 0) + (stats.security['TSC_SEC_UNKNOWN_SENDER'] ?? 0);
    assert.equal(sum(registrar.daemon.stats()), sum(before) + 1);
    assert.equal(RecordFiles.open(storeDir).get('node1')!.agents.includes('evil'), false);
    await forger.stop();
  });

  test('reload: a client key installed while running is used after reload()', async () => {
    const client = new TestClient(broker, clientProvider(carol, clientCerts));
    await client.start();
    const before = registrar.daemon.stats().unvalidated;
    await client.send('rpcutil', { action: 'ping', data: {} }, { node: 'node2' });
    await waitFor(() => registrar.daemon.stats().unvalidated === before + 1, 'carol to be refused while unknown');
    trust(registrarCerts, carol);
    await registrar.daemon.reload();
    const [reply] = await client.call('rpcutil', 'ping', {}, { node: 'node2' });
    assert.equal(reply!.body.statuscode, 0);
    await client.stop();
  });
});
