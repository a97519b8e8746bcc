/**
 * Rotation at the provider: every key of `<name>.pem` verifies; a retired key is refused naming its key id, without
 * a restart (the re-read on change) and at once on reload (SIGHUP); a reply in flight across the client's rotation
 * still opens; with a CA, a new certificate for a known name is learned as a further key, never replacing one.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CaRejectedError, UnknownSenderError } from '../../src/errors.js';
import { generateKeyPairFiles, learnedRecordPath, parseLearnedRecord, publicKeyInfos, retireKey, rotateKeyPair } from '../../src/keys/index.js';
import { splitPemBlocks } from '../../src/keys/layout.js';
import { decodeEnvelope, parseRequestHeader } from '../../plugins/security/aes_security/v2/wire.js';
import { World, makeCa, request } from './world.js';

const world = new World();
after(() => world.cleanup());
let ca: Awaited<ReturnType<typeof makeCa>>;
let server1: { privatePath: string; publicPath: string };

before(async () => {
  ca = await makeCa('Rotation CA', 'p256');
  server1 = await world.keys('server1', world.dir('server1'));
});

const kidsIn = (path: string) => publicKeyInfos(readFileSync(path, 'utf8')).map((info) => info.kid);

/** Copies a key pair to a directory of its own: another machine still holding it, whatever happens to the originals. */
function holdCopy(label: string, privatePath: string, publicPath: string, name: string): { privatePath: string; publicPath: string } {
  const dir = world.dir(label);
  const copy = { privatePath: join(dir, `${name}-private.pem`), publicPath: join(dir, `${name}.pem`) };
  writeFileSync(copy.privatePath, readFileSync(privatePath), { mode: 0o600 });
  copyFileSync(publicPath, copy.publicPath);
  return copy;
}
const headerOf = (wire: Uint8Array) => parseRequestHeader(decodeEnvelope(wire, 'request').headerBytes);

/** A client `alice` (keys in their own directory), a server trusting her, and a client cert dir trusting server1. */
async function deployment(label: string, extra: Record<string, string | number> = {}) {
  const keys = world.dir(`${label}-alice`);
  const alice = await generateKeyPairFiles('alice', { dir: keys });
  const serverCerts = world.dir(`${label}-server-certs`);
  const clientCerts = world.dir(`${label}-client-certs`);
  copyFileSync(alice.publicPath, join(serverCerts, 'alice.pem'));
  copyFileSync(server1.publicPath, join(clientCerts, 'server1.pem'));
  const clientSettings = { client_private: alice.privatePath, client_public: alice.publicPath, server_cert_dir: clientCerts };
  const server = world.provider('server', { server_private: server1.privatePath, server_public: server1.publicPath, client_cert_dir: serverCerts, ...extra });
  const distribute = () => copyFileSync(alice.publicPath, join(serverCerts, 'alice.pem'));
  return { keys, alice, serverCerts, clientCerts, clientSettings, server, distribute };
}

describe('rotation of a client key', () => {
  test('during the overlap both keys are accepted; after retire the old one is refused, naming it, without a restart', async () => {
    const d = await deployment('overlap');
    const before = world.provider('client', d.clientSettings);
    const oldWire = () => before.send(request());
    assert.ok(d.server.provider.decodeRequest(oldWire()));
    const rotated = await rotateKeyPair('alice', { dir: d.keys, type: 'ed25519' });
    d.distribute();
    world.clock += 1500;
    // A client started after the rotation signs with the new key; one still holding the old key keeps working.
    const after = world.provider('client', { ...d.clientSettings, reply_encryption: 'ephemeral' });
    const newWire = after.send(request());
    assert.equal(headerOf(newWire).kid, rotated.newKid);
    assert.equal(d.server.provider.decodeRequest(newWire).callerid, 'cert=alice');
    const old = holdCopy('overlap-old', `${d.keys}/alice-private.${rotated.oldKid}.pem`, d.alice.publicPath, 'alice');
    const stale = world.provider('client', { client_private: old.privatePath, client_public: old.publicPath, server_cert_dir: d.clientCerts });
    assert.equal(headerOf(stale.send(request())).kid, rotated.oldKid);
    assert.ok(d.server.provider.decodeRequest(stale.send(request())));

    await retireKey('alice', rotated.oldKid, { dir: d.keys });
    d.distribute();
    world.clock += 1500;
    assert.throws(() => d.server.provider.decodeRequest(stale.send(request())), (error: unknown) =>
      error instanceof UnknownSenderError && error.message.includes(`signed by key id ${rotated.oldKid}`) && error.message.includes(rotated.newKid));
    assert.ok(d.server.provider.decodeRequest(after.send(request())));
  });

  test('with a long recheck interval the retired key is still cached, and refused at once after reload (SIGHUP)', async () => {
    const d = await deployment('sighup', { key_recheck_interval: 3600 });
    const rotated = await rotateKeyPair('alice', { dir: d.keys });
    d.distribute();
    d.server.provider.reload();
    const old = holdCopy('sighup-old', `${d.keys}/alice-private.${rotated.oldKid}.pem`, d.alice.publicPath, 'alice');
    const stale = world.provider('client', { client_private: old.privatePath, client_public: old.publicPath, server_cert_dir: d.clientCerts });
    assert.ok(d.server.provider.decodeRequest(stale.send(request())));
    await retireKey('alice', rotated.oldKid, { dir: d.keys });
    d.distribute();
    world.clock += 5000;
    assert.ok(d.server.provider.decodeRequest(stale.send(request())), 'cached until the recheck interval or a reload');
    d.server.provider.reload();
    assert.throws(() => d.server.provider.decodeRequest(stale.send(request())), new RegExp(`signed by key id ${rotated.oldKid}`));
  });

  test('a reply in flight across the client\'s rotation still decodes (rsa replies are sealed to the key that signed)', async () => {
    const d = await deployment('inflight');
    const client = world.provider('client', d.clientSettings);
    const first = request();
    const decodedFirst = d.server.provider.decodeRequest(client.send(first));
    const rotated = await rotateKeyPair('alice', { dir: d.keys });
    d.distribute();
    world.clock += 1500;
    const second = request();
    const decodedSecond = d.server.provider.decodeRequest(client.send(second));
    assert.equal(headerOf(client.send(request())).kid, rotated.newKid);
    const reply = (decoded: typeof decodedFirst) => d.server.provider.encodeReply({ senderid: 'server1', senderagent: 'rpcutil', body: { to: decoded.requestid } }, decoded);
    assert.deepEqual(client.receive(reply(decodedFirst)).body, { to: first.requestid });
    assert.deepEqual(client.receive(reply(decodedSecond)).body, { to: second.requestid });
  });

  test('the own public file may hold several keys: the private key picks the active one, sent alone with send_pubkey', async () => {
    const d = await deployment('own');
    await rotateKeyPair('alice', { dir: d.keys, type: 'p256' });
    const rotated = await rotateKeyPair('alice', { dir: d.keys, type: 'ed25519' });
    assert.equal(kidsIn(d.alice.publicPath).length, 3);
    const client = world.provider('client', { ...d.clientSettings, send_pubkey: 1, reply_encryption: 'ephemeral' });
    const header = headerOf(client.send(request()));
    assert.equal(header.kid, rotated.newKid);
    assert.deepEqual(publicKeyInfos(header.pubkey!).map((info) => info.kid), [rotated.newKid]);
  });
});

describe('rotation of a server key', () => {
  test('the client accepts replies signed by any key of the server\'s file, and refuses a retired one', async () => {
    const keys = world.dir('srv-keys');
    const srv = await generateKeyPairFiles('node9', { dir: keys });
    const d = await deployment('srv');
    copyFileSync(srv.publicPath, join(d.clientCerts, 'node9.pem'));
    copyFileSync(d.alice.publicPath, join(d.serverCerts, 'alice.pem'));
    const settings = { server_private: srv.privatePath, server_public: srv.publicPath, client_cert_dir: d.serverCerts };
    // A server not yet updated keeps signing with the old key.
    const old = holdCopy('srv-old', srv.privatePath, srv.publicPath, 'node9');
    const oldServer = world.provider('server', { ...settings, server_private: old.privatePath, server_public: old.publicPath });
    const client = world.provider('client', d.clientSettings);
    const decodedByOld = oldServer.provider.decodeRequest(client.send(request()));
    const rotated = await rotateKeyPair('node9', { dir: keys, type: 'ed25519' });
    copyFileSync(srv.publicPath, join(d.clientCerts, 'node9.pem'));
    world.clock += 1500;
    const newServer = world.provider('server', settings);
    const decodedByNew = newServer.provider.decodeRequest(client.send(request()));
    const answer = (server: typeof oldServer, decoded: typeof decodedByOld) => server.provider.encodeReply({ senderid: 'node9', senderagent: 'rpcutil', body: 1 }, decoded);
    const lateOld = answer(oldServer, decodedByOld);
    assert.equal(client.receive(answer(newServer, decodedByNew)).signer, 'cert=node9');
    assert.equal(client.receive(lateOld).signer, 'cert=node9');
    await retireKey('node9', rotated.oldKid, { dir: keys });
    copyFileSync(srv.publicPath, join(d.clientCerts, 'node9.pem'));
    world.clock += 1500;
    const refusedRequest = oldServer.provider.decodeRequest(client.send(request()));
    assert.throws(() => client.receive(answer(oldServer, refusedRequest)), new RegExp(`signed by key id ${rotated.oldKid}`));
  });
});

describe('rotation with a CA: no copying', () => {
  async function caDeployment(label: string, learning: Record<string, string | number>) {
    const keys = world.dir(`${label}-keys`);
    const carol = await generateKeyPairFiles('carol', { dir: keys, type: 'p256' });
    writeFileSync(carol.publicPath, await ca.issue('carol', readFileSync(carol.publicPath, 'utf8')));
    const certDir = world.dir(`${label}-certs`);
    copyFileSync(carol.publicPath, join(certDir, 'carol.pem'));
    const caPath = join(world.dir(`${label}-ca`), 'ca.pem');
    writeFileSync(caPath, ca.certPem);
    const server = world.provider('server', { server_private: server1.privatePath, server_public: server1.publicPath, client_cert_dir: certDir, learn_pubkeys: 1, ...learning, ...(learning.insecure_learning ? {} : { ca_cert: caPath }) });
    const clientSettings = { client_private: carol.privatePath, client_public: carol.publicPath, server_cert_dir: world.dir(`${label}-cc`), send_pubkey: 1, reply_encryption: 'ephemeral' };
    return { keys, carol, certDir, server, clientSettings };
  }

  test('a new CA-signed certificate for a known name is learned as a further key; the installed one stays', async () => {
    const d = await caDeployment('ca-rotate', {});
    const before = world.provider('client', d.clientSettings);
    const installed = kidsIn(join(d.certDir, 'carol.pem'));
    assert.ok(d.server.provider.decodeRequest(before.send(request())));
    const rotated = await rotateKeyPair('carol', { dir: d.keys });
    // What `tsco keys ca sign carol` does: the new key certified in place, the old certificate kept after it.
    const [fresh, ...older] = splitPemBlocks(readFileSync(d.carol.publicPath, 'utf8')).map((block) => block.text);
    writeFileSync(d.carol.publicPath, await ca.issue('carol', fresh!) + older.join(''));
    world.clock += 1500;
    const after = world.provider('client', d.clientSettings);
    assert.equal(d.server.provider.decodeRequest(after.send(request())).callerid, 'cert=carol');
    assert.deepEqual(kidsIn(join(d.certDir, 'carol.pem')), [rotated.newKid, ...installed]);
    const record = parseLearnedRecord(readFileSync(learnedRecordPath(d.certDir, 'carol'), 'utf8'));
    assert.deepEqual(record.keys.map((key) => [key.kid, key.verifiedBy]), [[rotated.newKid, 'ca']]);
    assert.equal(d.server.logger.find('info', 'learned a further CA-verified certificate for a known name').length, 1);
    // Both keys verify now; the old one was never replaced.
    world.clock += 1500;
    assert.ok(d.server.provider.decodeRequest(before.send(request())));
    assert.ok(d.server.provider.decodeRequest(after.send(request())));
  });

  test('a certificate from another CA, or any key without a CA, is never added to a known name', async () => {
    const d = await caDeployment('ca-rogue', {});
    const rogue = await makeCa('Rogue CA');
    const impostorKeys = await world.keys('carol', world.dir('ca-rogue-impostor'));
    writeFileSync(impostorKeys.publicPath, await rogue.issue('carol', impostorKeys.publicPem));
    const impostor = world.provider('client', { client_private: impostorKeys.privatePath, client_public: impostorKeys.publicPath, server_cert_dir: world.dir('x'), send_pubkey: 1 });
    const before = readFileSync(join(d.certDir, 'carol.pem'), 'utf8');
    assert.throws(() => d.server.provider.decodeRequest(impostor.send(request())), CaRejectedError);
    assert.equal(readFileSync(join(d.certDir, 'carol.pem'), 'utf8'), before);

    const open = await caDeployment('open', { insecure_learning: 1 });
    const selfMade = await world.keys('carol', world.dir('open-impostor'));
    const other = world.provider('client', { client_private: selfMade.privatePath, client_public: selfMade.publicPath, server_cert_dir: world.dir('y'), send_pubkey: 1 });
    const was = readFileSync(join(open.certDir, 'carol.pem'), 'utf8');
    assert.throws(() => open.server.provider.decodeRequest(other.send(request())), (error: unknown) =>
      error instanceof UnknownSenderError && /only as a certificate plugin.aes.ca_cert signed/.test(error.message));
    assert.equal(readFileSync(join(open.certDir, 'carol.pem'), 'utf8'), was);
  });
});
