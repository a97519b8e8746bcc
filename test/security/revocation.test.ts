/**
 * Revocation (`plugin.aes.revoked_keys`, `plugin.aes.ca_crl`): a revoked client key, server key, learned key and
 * CRL-listed certificate are refused with TSC_SEC_REVOKED naming the key id, wherever the key is resolved, without a
 * restart; a revoked key is never learned again, and a learned file of revoked keys is moved aside (an installed
 * one never is); a list or CRL that becomes unusable keeps the last revocations in force.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RevokedKeyError } from '../../src/errors.js';
import { createCrl, publicKeyInfo } from '../../src/keys/index.js';
import { World, makeCa, request } from './world.js';

const world = new World();
after(() => world.cleanup());
let ca: Awaited<ReturnType<typeof makeCa>>;
let caPath: string;

before(async () => {
  ca = await makeCa('Revocation CA');
  caPath = join(world.dir('ca'), 'ca.pem');
  writeFileSync(caPath, ca.certPem);
});

/** CRLs are dated by the world's clock (the providers' clock), a minute back. */
const crlDate = () => new Date(world.clock - 60_000);

const revokedWith = (kid: string) => (error: unknown) =>
  error instanceof RevokedKeyError && error.code === 'TSC_SEC_REVOKED' && error.message.includes(kid);

async function pair(label: string, name: string, certDir: string, trust = true) {
  const keys = await world.keys(name, world.dir(`${label}-${name}`));
  if (trust) world.install(certDir, name, keys.publicPem);
  return { ...keys, kid: publicKeyInfo(keys.publicPem).kid };
}

describe('revoked_keys', () => {
  test('a revoked client key: its requests are refused naming the key id, from the moment the list changes', async () => {
    const certDir = world.dir('client-certs');
    const alice = await pair('rk', 'alice', certDir);
    const listPath = join(world.dir('rk-list'), 'revoked');
    writeFileSync(listPath, '# nothing yet\n');
    const server = world.provider('server', { server_private: '/x', server_public: '/x', client_cert_dir: certDir, revoked_keys: listPath });
    const client = world.provider('client', { client_private: alice.privatePath, client_public: alice.publicPath, server_cert_dir: certDir });
    assert.ok(server.provider.decodeRequest(client.send(request())));
    writeFileSync(listPath, `# nothing yet\n${alice.kid}  # laptop stolen\n`);
    world.clock += 1500;
    assert.throws(() => server.provider.decodeRequest(client.send(request())), revokedWith(alice.kid));
    assert.equal(server.counters.get('security.revoked'), 1);
  });

  test('a revoked server key: its replies are refused by the client', async () => {
    const certDir = world.dir('srv-certs');
    const alice = await pair('rs', 'alice', certDir);
    const node1 = await pair('rs', 'node1', certDir);
    const listPath = join(world.dir('rs-list'), 'revoked');
    writeFileSync(listPath, `${node1.kid}\n`);
    const client = world.provider('client', { client_private: alice.privatePath, client_public: alice.publicPath, server_cert_dir: certDir, revoked_keys: listPath });
    const server = world.provider('server', { server_private: node1.privatePath, server_public: node1.publicPath, client_cert_dir: certDir });
    const decoded = server.provider.decodeRequest(client.send(request()));
    const reply = server.provider.encodeReply({ senderid: 'node1', senderagent: 'rpcutil', body: 1 }, decoded);
    assert.throws(() => client.receive(reply), revokedWith(node1.kid));
    // A server whose own key is revoked is told at start-up.
    const revokedServer = world.provider('server', { server_private: node1.privatePath, server_public: node1.publicPath, client_cert_dir: certDir, revoked_keys: listPath });
    assert.ok(revokedServer.provider.validate().some((p) => p.includes('our own key is revoked') && p.includes(node1.kid)));
  });

  test('a revoked learned key is refused, its file moved aside, and never learned again; another key may then be', async () => {
    const certDir = world.dir('learn-certs');
    const carol = await pair('rl', 'carol', certDir, false);
    const listPath = join(world.dir('rl-list'), 'revoked');
    writeFileSync(listPath, '');
    const server = world.provider('server', { server_private: '/x', server_public: '/x', client_cert_dir: certDir, learn_pubkeys: 1, insecure_learning: 1, revoked_keys: listPath });
    const client = world.provider('client', { client_private: carol.privatePath, client_public: carol.publicPath, server_cert_dir: certDir, send_pubkey: 1 });
    assert.ok(server.provider.decodeRequest(client.send(request())));
    assert.ok(existsSync(join(certDir, 'carol.pem')));
    writeFileSync(listPath, `${carol.kid}\n`);
    world.clock += 1500;
    assert.throws(() => server.provider.decodeRequest(client.send(request())), revokedWith(carol.kid));
    assert.equal(existsSync(join(certDir, 'carol.pem')), false);
    assert.equal(readdirSync(certDir).filter((file) => file.startsWith('.carol.pem.revoked-')).length, 2, readdirSync(certDir).join(' '));
    assert.equal(server.counters.get('security.learned_set_aside'), 1);
    assert.throws(() => server.provider.decodeRequest(client.send(request())), revokedWith(carol.kid));
    assert.equal(existsSync(join(certDir, 'carol.pem')), false, 'the revoked key was learned again');
    const fresh = await pair('rl2', 'carol', certDir, false);
    const renewed = world.provider('client', { client_private: fresh.privatePath, client_public: fresh.publicPath, server_cert_dir: certDir, send_pubkey: 1 });
    assert.ok(server.provider.decodeRequest(renewed.send(request())));
    assert.equal(publicKeyInfo(readFileSync(join(certDir, 'carol.pem'), 'utf8')).kid, fresh.kid);
  });

  test('an installed key that is revoked is refused but never moved', async () => {
    const certDir = world.dir('inst-certs');
    const dave = await pair('ri', 'dave', certDir);
    const listPath = join(world.dir('ri-list'), 'revoked');
    writeFileSync(listPath, `${dave.kid}\n`);
    const server = world.provider('server', { server_private: '/x', server_public: '/x', client_cert_dir: certDir, revoked_keys: listPath, learn_pubkeys: 1, insecure_learning: 1 });
    const client = world.provider('client', { client_private: dave.privatePath, client_public: dave.publicPath, server_cert_dir: certDir, send_pubkey: 1 });
    for (let i = 0; i < 3; i++) assert.throws(() => server.provider.decodeRequest(client.send(request())), revokedWith(dave.kid));
    assert.ok(existsSync(join(certDir, 'dave.pem')));
  });

  test('a serial:<hex> entry revokes a certificate; a list that becomes unusable keeps the last revocations', async () => {
    const certDir = world.dir('serial-certs');
    const erin = await pair('rsl', 'erin', certDir, false);
    const cert = await ca.issue('erin', erin.publicPem);
    world.install(certDir, 'erin', cert);
    writeFileSync(erin.publicPath, cert);
    const listPath = join(world.dir('rsl-list'), 'revoked');
    writeFileSync(listPath, `serial:${publicKeyInfo(cert).serial!.toUpperCase()}\n`);
    const server = world.provider('server', { server_private: '/x', server_public: '/x', client_cert_dir: certDir, revoked_keys: listPath, ca_cert: caPath });
    const client = world.provider('client', { client_private: erin.privatePath, client_public: erin.publicPath, server_cert_dir: certDir });
    assert.throws(() => server.provider.decodeRequest(client.send(request())), (error: unknown) => revokedWith(erin.kid)(error) && /certificate serial/.test((error as Error).message));
    writeFileSync(listPath, 'this is not a revocation list\n');
    world.clock += 1500;
    assert.throws(() => server.provider.decodeRequest(client.send(request())), revokedWith(erin.kid));
    assert.ok(server.logger.find('error', 'the last revocations read stay in force').length >= 1);
    assert.ok(server.provider.validate().some((p) => p.includes('plugin.aes.revoked_keys') && p.includes('revoked:1')));
  });
});

describe('ca_crl', () => {
  test('a certificate the CA\'s CRL lists is refused, as soon as the CRL changes; learning never takes it', async () => {
    const certDir = world.dir('crl-certs');
    const frank = await pair('crl', 'frank', certDir, false);
    const cert = await ca.issue('frank', frank.publicPem);
    writeFileSync(frank.publicPath, cert);
    const crlPath = join(world.dir('crl'), 'crl.pem');
    writeFileSync(crlPath, await createCrl({ caCertPem: ca.certPem, caKeyPem: ca.keyPem, serials: [], thisUpdate: crlDate() }));
    const server = world.provider('server', { server_private: '/x', server_public: '/x', client_cert_dir: certDir, ca_cert: caPath, ca_crl: crlPath, learn_pubkeys: 1 });
    assert.deepEqual(server.provider.validate().filter((p) => p.includes('ca_crl')), []);
    const client = world.provider('client', { client_private: frank.privatePath, client_public: frank.publicPath, server_cert_dir: certDir, send_pubkey: 1 });
    assert.ok(server.provider.decodeRequest(client.send(request())));
    assert.ok(existsSync(join(certDir, 'frank.pem')), 'learned through the CA');
    writeFileSync(crlPath, await createCrl({ caCertPem: ca.certPem, caKeyPem: ca.keyPem, serials: [publicKeyInfo(cert).serial!], thisUpdate: crlDate() }));
    world.clock += 1500;
    assert.throws(() => server.provider.decodeRequest(client.send(request())), (error: unknown) => revokedWith(frank.kid)(error) && /CA's CRL/.test((error as Error).message));
    assert.equal(existsSync(join(certDir, 'frank.pem')), false, 'the learned file of revoked keys is moved aside');
    // A fresh server that never saw frank refuses to learn the revoked certificate.
    const other = world.provider('server', { server_private: '/x', server_public: '/x', client_cert_dir: world.dir('crl-certs-2'), ca_cert: caPath, ca_crl: crlPath, learn_pubkeys: 1 });
    assert.throws(() => other.provider.decodeRequest(client.send(request())), revokedWith(frank.kid));
  });

  test('a CRL not signed by the CA is refused at start-up, and at run time the last good CRL stays in force', async () => {
    const rogue = await makeCa('Revocation CA');
    const certDir = world.dir('crl-rogue-certs');
    const gina = await pair('crlr', 'gina', certDir, false);
    const cert = await ca.issue('gina', gina.publicPem);
    world.install(certDir, 'gina', cert);
    writeFileSync(gina.publicPath, cert);
    const crlPath = join(world.dir('crl-rogue'), 'crl.pem');
    writeFileSync(crlPath, await createCrl({ caCertPem: rogue.certPem, caKeyPem: rogue.keyPem, serials: [], thisUpdate: crlDate() }));
    const strict = world.provider('server', { server_private: '/x', server_public: '/x', client_cert_dir: certDir, ca_cert: caPath, ca_crl: crlPath });
    assert.ok(strict.provider.validate().some((p) => p.includes('plugin.aes.ca_crl') && p.includes('signature does not verify')));
    writeFileSync(crlPath, await createCrl({ caCertPem: ca.certPem, caKeyPem: ca.keyPem, serials: [publicKeyInfo(cert).serial!], thisUpdate: crlDate() }));
    world.clock += 1500;
    const client = world.provider('client', { client_private: gina.privatePath, client_public: gina.publicPath, server_cert_dir: certDir });
    assert.throws(() => strict.provider.decodeRequest(client.send(request())), revokedWith(gina.kid));
    // Someone replaces the CRL with one that revokes nothing, signed by another CA: ignored, gina stays revoked.
    writeFileSync(crlPath, await createCrl({ caCertPem: rogue.certPem, caKeyPem: rogue.keyPem, serials: [], thisUpdate: crlDate() }));
    world.clock += 1500;
    assert.throws(() => strict.provider.decodeRequest(client.send(request())), revokedWith(gina.kid));
    assert.ok(strict.logger.find('error', 'signature does not verify').length >= 1);
    assert.ok(strict.provider.validate().some((p) => p.includes('plugin.aes.ca_crl')));
  });

  test('a CRL past its nextUpdate is still applied, with a warning; one dated in the future is not used', async () => {
    const certDir = world.dir('crl-stale-certs');
    const hal = await pair('crls', 'hal', certDir, false);
    const cert = await ca.issue('hal', hal.publicPem, { days: 30 });
    world.install(certDir, 'hal', cert);
    writeFileSync(hal.publicPath, cert);
    const crlPath = join(world.dir('crl-stale'), 'crl.pem');
    writeFileSync(crlPath, await createCrl({ caCertPem: ca.certPem, caKeyPem: ca.keyPem, serials: [publicKeyInfo(cert).serial!], days: 1, thisUpdate: crlDate() }));
    const server = world.provider('server', { server_private: '/x', server_public: '/x', client_cert_dir: certDir, ca_cert: caPath, ca_crl: crlPath });
    const client = world.provider('client', { client_private: hal.privatePath, client_public: hal.publicPath, server_cert_dir: certDir });
    assert.throws(() => server.provider.decodeRequest(client.send(request())), revokedWith(hal.kid));
    world.clock += 2 * 86_400_000;
    try {
      assert.throws(() => server.provider.decodeRequest(client.send(request())), revokedWith(hal.kid));
      assert.ok(server.counters.get('security.crl_stale') >= 1);
      assert.ok(server.logger.find('warn', 'past its nextUpdate').length >= 1);
    } finally {
      world.clock -= 2 * 86_400_000;
    }
    writeFileSync(crlPath, await createCrl({ caCertPem: ca.certPem, caKeyPem: ca.keyPem, serials: [], thisUpdate: new Date(world.clock + 86_400_000) }));
    const later = world.provider('server', { server_private: '/x', server_public: '/x', client_cert_dir: certDir, ca_cert: caPath, ca_crl: crlPath });
    assert.ok(later.provider.validate().some((p) => p.includes('plugin.aes.ca_crl') && p.includes('in the future')));
  });

  test('ca_crl without ca_cert is a configuration problem', () => {
    const server = world.provider('server', { server_private: '/x', server_public: '/x', client_cert_dir: world.dir('c'), ca_crl: '/nonexistent.crl' });
    assert.ok(server.provider.validate().some((p) => p.includes('plugin.aes.ca_crl') && p.includes('plugin.aes.ca_cert, which is not set')));
  });
});
