/**
 * Registration: publisher -> bus -> authorization -> audit -> registration agent -> store -> acknowledgement;
 * forged registrations (unknown keys, denied callers, keys bound to another node), shared keys; the store API.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MemoryBroker, MemoryConnector } from '../../plugins/connector/memory/index.js';
import { configFromObject } from '../../src/config/index.js';
import { startDaemon, type DaemonHandle } from '../../src/daemon/index.js';
import { InvalidArgumentError } from '../../src/errors.js';
import { RecordFiles } from '../../src/registration/index.js';
import { CapturingLogger } from '../../src/util/log.js';
import { MemoryCounters } from '../../src/util/counters.js';
import { FakeSecurity } from './fake-security.js';
import { tempDir, TestClient, waitFor } from './helpers.js';
import { makeKeys } from './keys.js';

const secrets = new Map([['web1', 'w-secret'], ['registrar', 'r-secret'], ['alice', 'a-secret'], ['bob', 'b-secret'], ['node2', 'n2-secret'], ['fleet', 'f-secret'], ['web2', 'w2-secret'], ['web3', 'w3-secret'], ['old', 'o-secret']]);
const dir = tempDir('registration');
const storeDir = join(dir, 'store');
const policyDir = join(dir, 'policies');
const auditLog = join(dir, 'audit.log');
const broker = new MemoryBroker({ name: 'registration-test' });

async function start(identity: string, settings: Record<string, string | number>, sharedKeys: string[] = []): Promise<{ daemon: DaemonHandle; logger: CapturingLogger }> {
  const logger = new CapturingLogger();
  const config = configFromObject({ identity, collectives: 'mcollective,ops', main_collective: 'mcollective', connector: 'memory', ...settings });
  const daemon = await startDaemon(config, {
    provider: new FakeSecurity(identity, secrets, Date.now, new Set(sharedKeys)),
    connector: new MemoryConnector({ identity, logger, counters: new MemoryCounters(), broker }),
    logger,
  });
  return { daemon, logger };
}

function auditLines(): Record<string, unknown>[] {
  return readFileSync(auditLog, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** A client whose key is `name`, sending to the ops collective. */
async function client(name: string): Promise<TestClient> {
  const created = new TestClient(broker, new FakeSecurity(name, secrets), 'ops');
  await created.start();
  return created;
}

const registrationFilter = { fact: [], cf_class: [], agent: ['registration'], identity: [], compound: [] };

describe('registration', () => {
  let registrar: Awaited<ReturnType<typeof start>>;
  let web1: Awaited<ReturnType<typeof start>>;

  before(async () => {
    mkdirSync(policyDir);
    // bob is known (his requests decode) but the registration policy denies him: `policy default deny`.
    writeFileSync(join(policyDir, 'registration.policy'), 'policy default deny\nallow\tcert=web1 cert=web2 cert=web3 cert=old cert=alice cert=node2 cert=fleet\tregister\t*\t*\n');
    writeFileSync(join(dir, 'web1.yaml'), 'country: uk\nrole: web\nnet:\n  ips: [10.0.0.1, 10.0.0.2]\n');
    writeFileSync(join(dir, 'web1.classes'), 'webserver\n');
    registrar = await start('registrar', {
      'plugin.registration.store_dir': storeDir, 'plugin.yaml': join(dir, 'none.yaml'),
      rpcauthorization: 1, 'plugin.actionpolicy.policy_dir': policyDir, 'plugin.actionpolicy.allow_unconfigured': 1,
      rpcaudit: 1, 'plugin.rpcaudit.logfile': auditLog,
    }, ['fleet']);
    web1 = await start('web1', {
      registerinterval: 1, registration: 'facts', registration_collective: 'ops',
      'plugin.yaml': join(dir, 'web1.yaml'), classesfile: join(dir, 'web1.classes'),
    });
  });

  after(async () => {
    await web1.daemon.stop();
    await registrar.daemon.stop();
  });

  test('only a daemon that names a store (here store_dir) hosts the registration agents', () => {
    assert.ok(registrar.daemon.agents().includes('registration'));
    assert.ok(registrar.daemon.agents().includes('registration_query'));
    assert.ok(!web1.daemon.agents().includes('registration'));
    assert.ok(!web1.daemon.agents().includes('registration_query'));
  });

  test('a registration is signed, authorized, audited, stored with its signer and proof, and acknowledged', async () => {
    await waitFor(() => web1.daemon.counters.get('registration.acknowledged') >= 1, 'the first acknowledged registration');
    const record = RecordFiles.open(storeDir).get('web1')!;
    assert.equal(record.signer, 'cert=web1');
    assert.equal(record.senderProof, 'key-name');
    assert.equal(record.collective, 'ops');
    assert.deepEqual(record.agents, ['discovery', 'rpcutil']);
    assert.deepEqual({ ...record.facts }, { country: 'uk', role: 'web', 'net.ips.0': '10.0.0.1', 'net.ips.1': '10.0.0.2' });
    assert.equal(Object.getPrototypeOf(record.facts), null, 'facts are own properties only');
    assert.deepEqual(record.classes, ['webserver']);
    assert.deepEqual(record.collectives, ['mcollective', 'ops']);
    assert.ok(registrar.daemon.stats().replies >= 1, 'the acknowledgement is a reply');
    assert.equal(web1.daemon.counters.get('registration.refused'), 0);
    const audited = auditLines().find((line) => line['agent'] === 'registration' && line['caller'] === 'cert=web1@web1');
    assert.equal(audited?.['action'], 'register');
    assert.deepEqual((audited?.['data'] as { agentlist: string[] }).agentlist, ['discovery', 'rpcutil']);
  });

  test('a registration from an unknown key is rejected before the agent, and stores nothing', async () => {
    const mallory = new TestClient(broker, new FakeSecurity('mallory', new Map([['mallory', 'm']])), 'ops');
    await mallory.start();
    const before = registrar.daemon.stats();
    await mallory.connector.publishRequest({
      collective: 'ops', agent: 'registration', ttl: 60,
      body: mallory.security.encodeRequest({ requestid: 'cd'.repeat(16), senderid: 'evil', agent: 'registration', collective: 'ops', filter: registrationFilter, ttl: 60, body: ['rpcutil'] }).wire,
    });
    await waitFor(() => registrar.daemon.stats().unvalidated === before.unvalidated + 1, 'the refusal');
    assert.equal(registrar.daemon.stats().security['TSC_SEC_UNKNOWN_SENDER'], (before.security['TSC_SEC_UNKNOWN_SENDER'] ?? 0) + 1);
    assert.equal(RecordFiles.open(storeDir).get('evil'), undefined);
    await mallory.stop();
  });

  test('a malformed registration body from a bound sender is counted and answered status 5, not stored', async () => {
    const alice = await client('alice');
    const requestid = await alice.send('registration', { agentlist: 'not a list' }, { collective: 'ops', senderid: 'alice' });
    await waitFor(() => alice.repliesTo(requestid).length === 1, 'the status 5 reply');
    assert.equal(alice.repliesTo(requestid)[0]!.body.statuscode, 5);
    assert.match(alice.repliesTo(requestid)[0]!.body.statusmsg, /agentlist: expected a list of strings/);
    assert.ok(registrar.daemon.counters.get('agent.registration.errors') >= 1);
    assert.equal(RecordFiles.open(storeDir).get('alice'), undefined);
    await alice.stop();
  });

  test('a caller whose registration policy is default deny writes nothing: status 1, counted, logged, not audited', async () => {
    const bob = await client('bob');
    const before = registrar.daemon.stats().unauthorized;
    const own = await bob.send('registration', { agentlist: ['rpcutil'], facts: { role: 'db' } }, { collective: 'ops', senderid: 'bob' });
    const forged = await bob.send('registration', { agentlist: ['rpcutil'], facts: { role: 'db' } }, { collective: 'ops', senderid: 'web1' });
    await waitFor(() => bob.repliesTo(own).length === 1 && bob.repliesTo(forged).length === 1, 'both refusals');
    for (const requestid of [own, forged]) {
      const [reply] = bob.repliesTo(requestid);
      assert.equal(reply!.body.statuscode, 1);
      assert.match(reply!.body.statusmsg, /cert=bob is not authorized to call registration#register/);
      assert.ok(!auditLines().some((line) => line['requestid'] === requestid), 'the audit log records authorized requests only');
    }
    assert.equal(registrar.daemon.stats().unauthorized, before + 2);
    assert.ok(registrar.logger.find('warn', 'denied cert=bob calling registration#register').length > 0);
    assert.equal(RecordFiles.open(storeDir).get('bob'), undefined);
    assert.equal(RecordFiles.open(storeDir).get('web1')!.facts['role'], 'web');
    await bob.stop();
  });

  test('a node whose registrations the collector denies counts them refused and failed, without retrying them', async () => {
    const bob = await start('bob', { registerinterval: 1, registration_collective: 'ops', 'plugin.yaml': join(dir, 'none.yaml') });
    try {
      await waitFor(() => bob.daemon.counters.get('registration.refused') >= 1, 'a refused registration');
      await bob.daemon.stop();
      const counters = bob.daemon.counters;
      assert.equal(counters.get('registration.acknowledged'), 0);
      assert.equal(counters.get('registration.retried'), 0, 'a refusal is not retried');
      assert.equal(counters.get('registration.sent'), counters.get('registration.failed'));
      assert.ok(bob.logger.find('error', 'registration refused by cert=registrar').length > 0);
    } finally {
      await bob.daemon.stop();
    }
  });

  test('a key bound to node2 cannot write web1\'s record: refused as unbound, counted, rate-limited in the log', async () => {
    const node2 = await client('node2');
    const before = registrar.daemon.counters.get('registration.refused.unbound');
    const requestids: string[] = [];
    for (let i = 0; i < 30; i++) {
      requestids.push(await node2.send('registration', { agentlist: ['rpcutil'], facts: { role: 'db' } }, { collective: 'ops', senderid: 'web1' }));
    }
    await waitFor(() => requestids.every((id) => node2.repliesTo(id).length === 1), 'every refusal');
    assert.match(node2.repliesTo(requestids[0]!)[0]!.body.statusmsg, /sender web1 is not bound to the signing key cert=node2/);
    assert.equal(registrar.daemon.counters.get('registration.refused.unbound'), before + 30);
    assert.ok(registrar.logger.find('warn', 'claiming sender web1').length <= 10, 'at most a burst of lines per minute');
    assert.equal(RecordFiles.open(storeDir).get('web1')!.facts['role'], 'web');
    assert.equal(RecordFiles.open(storeDir).get('web1')!.signer, 'cert=web1');
    const audited = auditLines().find((line) => line['requestid'] === requestids[0]);
    assert.deepEqual([audited?.['caller'], audited?.['action']], ['cert=node2@web1', 'register'], 'authorized, so audited with the proven signer');
    await node2.stop();
  });

  test('a registration without reply-to (an MCollective node) is stored and gets no reply', async () => {
    const old = new MemoryConnector({ identity: 'old', logger: new CapturingLogger(), counters: new MemoryCounters(), broker });
    await old.connect();
    const replies = registrar.daemon.stats().replies;
    const body = new FakeSecurity('old', secrets).encodeRequest({ requestid: 'ef'.repeat(16), senderid: 'old', agent: 'registration', collective: 'ops', filter: registrationFilter, ttl: 60, body: ['rpcutil'] }).wire;
    await old.publishRequest({ collective: 'ops', agent: 'registration', ttl: 60, body });
    await waitFor(() => RecordFiles.open(storeDir).get('old') !== undefined, 'the record');
    assert.equal(registrar.daemon.stats().replies, replies);
    assert.equal(registrar.daemon.stats().reply_failures, 0);
    await old.disconnect();
  });

  test('an acknowledgement the node cannot verify is refused and counted; the attempt fails', async () => {
    // web3 does not know the registrar's key, so the registrar's signed acknowledgement does not verify.
    const logger = new CapturingLogger();
    const config = configFromObject({ identity: 'web3', collectives: 'mcollective,ops', main_collective: 'mcollective', registerinterval: 1, registration_collective: 'ops', 'plugin.yaml': join(dir, 'none.yaml') });
    const web3 = await startDaemon(config, {
      provider: new FakeSecurity('web3', new Map([['web3', 'w3-secret']])),
      connector: new MemoryConnector({ identity: 'web3', logger, counters: new MemoryCounters(), broker }),
      logger,
    });
    try {
      await waitFor(() => web3.counters.get('registration.failed') >= 1, 'a failed attempt');
      assert.ok(web3.counters.get('registration.ack_rejected.TSC_SEC_UNKNOWN_SENDER') >= 1);
      assert.equal(web3.counters.get('registration.acknowledged'), 0);
      assert.ok(logger.find('warn', 'registration acknowledgement refused by the security provider').length >= 1);
      assert.equal(RecordFiles.open(storeDir).get('web3')?.signer, 'cert=web3', 'the collector stored it all the same');
    } finally {
      await web3.stop();
    }
  });

  test('tsco discover --dm registration -T ops -F role=db returns no forged node (the local store, named by the client configuration)', async () => {
    // web2 registers once (role web); a denied caller and a key bound to another node then claim it is a db.
    const [web2, bob, node2] = [await client('web2'), await client('bob'), await client('node2')];
    const genuine = await web2.send('registration', { agentlist: ['rpcutil'], facts: { role: 'web' } }, { collective: 'ops', senderid: 'web2' });
    await waitFor(() => web2.repliesTo(genuine).length === 1, 'the genuine registration');
    const forged = { agentlist: ['rpcutil'], facts: { role: 'db' } };
    const attempts = [await bob.send('registration', forged, { collective: 'ops', senderid: 'web2' }), await node2.send('registration', forged, { collective: 'ops', senderid: 'web2' })];
    await waitFor(() => bob.repliesTo(attempts[0]!).length === 1 && node2.repliesTo(attempts[1]!).length === 1, 'both forgeries to be answered');
    await Promise.all([web2.stop(), bob.stop(), node2.stop()]);
    const keys = await makeKeys(join(dir, 'keys'), 'cli');
    const cfg = join(dir, 'client.cfg');
    writeFileSync(cfg, [
      'identity = cli.example', 'connector = memory', 'securityprovider = aes_security', `plugin.registration.store_dir = ${storeDir}`, 'collectives = mcollective,ops',
      'registerinterval = 60', `plugin.aes.client_private = ${keys.privatePath}`, `plugin.aes.client_public = ${keys.publicPath}`,
      `plugin.aes.client_cert_dir = ${join(dir, 'keys')}`, '',
    ].join('\n'));
    const tsco = (filter: string): Promise<{ code: number; stdout: string; stderr: string }> => new Promise((resolve) => {
      execFile(process.execPath, [join(import.meta.dirname, '../../src/cli/tsco.js'), '--config', cfg, 'discover', '--dm', 'registration', '-T', 'ops', '-F', filter],
        { timeout: 30_000 }, (error, stdout, stderr) => resolve({ code: error ? Number(error.code) : 0, stdout, stderr }));
    });
    assert.deepEqual(await tsco('role=db'), { code: 1, stdout: '', stderr: '' }, 'exit 1: nothing discovered');
    assert.deepEqual(await tsco('role=web'), { code: 0, stdout: 'web1\nweb2\n', stderr: '' });
  });

  test('a key several servers share may register any name: accepted, and the record says the name is unauthenticated', async () => {
    const fleet = await client('fleet');
    const requestid = await fleet.send('registration', ['rpcutil'], { collective: 'ops', senderid: 'node7' });
    await waitFor(() => fleet.repliesTo(requestid).length === 1, 'the acknowledgement');
    assert.deepEqual(fleet.repliesTo(requestid)[0]!.body.data, { stored: true, identity: 'node7' });
    const record = RecordFiles.open(storeDir).get('node7')!;
    assert.deepEqual([record.signer, record.senderProof], ['cert=fleet', 'shared']);
    await fleet.stop();
  });

  test('tsco discover --dm registration marks a name only a shared key registered, in text and in --json', async () => {
    const cfg = join(dir, 'client.cfg');
    const tsco = (...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> => new Promise((resolve) => {
      execFile(process.execPath, [join(import.meta.dirname, '../../src/cli/tsco.js'), '--config', cfg, 'discover', '--dm', 'registration', '-T', 'ops', ...args],
        { timeout: 30_000 }, (error, stdout, stderr) => resolve({ code: error ? Number(error.code) : 0, stdout, stderr }));
    });
    const text = await tsco('-I', '/^(node7|web1)$/');
    assert.deepEqual(text, { code: 0, stdout: 'node7 [unauthenticated name: registered with shared key cert=fleet]\nweb1\n', stderr: '' });
    const json = JSON.parse((await tsco('-I', '/^(node7|web1)$/', '--json')).stdout) as { nodes: string[]; unauthenticated: unknown[] };
    assert.deepEqual(json.nodes, ['node7', 'web1'], 'the names stay plain in the list');
    assert.deepEqual(json.unauthenticated, [{ identity: 'node7', signer: 'cert=fleet', senderProof: 'shared', authenticated: false }]);
  });
});

describe('RecordFiles', () => {
  test('records survive reopening; registrations are counted; firstSeen is kept', () => {
    const path = tempDir('store');
    const store = RecordFiles.open(path);
    store.record({ identity: 'a.example', signer: 'cert=a', senderProof: 'key-name', collective: 'mcollective', agents: ['rpcutil'], time: 1_000 });
    store.record({ identity: 'a.example', signer: 'cert=a', senderProof: 'key-name', collective: 'mcollective', agents: ['rpcutil', 'service'], time: 5_000 });
    const reopened = RecordFiles.open(path);
    const record = reopened.get('a.example')!;
    assert.deepEqual([record.firstSeen, record.lastSeen, record.registrations, record.agents], [1_000, 5_000, 2, ['rpcutil', 'service']]);
    assert.deepEqual(readdirSync(path), ['a.example.json'], 'no temporary files left behind');
  });

  test('a record written before signer and proof were kept reads with its signer and proof unknown', () => {
    const path = tempDir('old-record');
    writeFileSync(join(path, 'old.json'), JSON.stringify({ identity: 'old', callerid: 'cert=old', collective: 'c', agents: [], facts: {}, classes: [], collectives: ['c'], firstSeen: 1, lastSeen: 2, registrations: 1 }));
    const record = RecordFiles.open(path).get('old')!;
    assert.deepEqual([record.signer, record.senderProof, record.callerid], ['cert=old', 'unknown', 'cert=old']);
  });

  test('stale() finds nodes not seen for N intervals; active() the others', () => {
    const store = RecordFiles.open(tempDir('stale'));
    const now = 1_000_000;
    store.record({ identity: 'fresh', signer: 'cert=f', senderProof: 'key-name', collective: 'c', agents: [], time: now - 100_000 });
    store.record({ identity: 'old', signer: 'cert=o', senderProof: 'key-name', collective: 'c', agents: [], time: now - 400_000 });
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
    const store = RecordFiles.open(path, { onCorrupt: (file) => corrupt.push(file) });
    assert.throws(() => store.record({ identity: '../etc/passwd', signer: 'cert=x', senderProof: 'key-name', collective: 'c', agents: [] }), /identity: "..\/etc\/passwd" is not a valid identity/);
    writeFileSync(join(path, 'torn.json'), '{"identity": "torn", ');
    writeFileSync(join(path, '.half.123.ab.tmp'), 'partial');
    assert.deepEqual(store.list(), []);
    assert.deepEqual(corrupt, [join(path, 'torn.json')]);
    RecordFiles.open(path);
    assert.ok(!readdirSync(path).some((entry) => entry.endsWith('.tmp')), 'temporary files from a crash are removed on open');
  });
});
