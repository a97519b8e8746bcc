/** aes_security: key files, names, permissions, passphrases, reloading, certificates, CA checks and learning. */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CaRejectedError, KeyFileError, MalformedMessageError, UnknownSenderError } from '../../src/errors.js';
import { nameFromCallerid } from '../../src/names.js';
import { learnedRecordPath, publicKeyPath as keyPathFor } from '../../src/keys/layout.js';
import { World, makeCa, request, rsaPair } from './world.js';

const world = new World();
after(() => world.cleanup());
let ca: Awaited<ReturnType<typeof makeCa>>;

before(async () => {
  ca = await makeCa();
});

describe('names and paths', () => {
  test('names that would leave the certificate directory are refused', () => {
    for (const name of ['../etc/passwd', '..', '.', '.hidden', 'a/b', 'a\\b', '', 'x'.repeat(300)]) {
      assert.equal(keyPathFor('/etc/tscollective/clients', name), null, name);
    }
    assert.equal(keyPathFor('/etc/tscollective/clients', 'alice.example-1_x'), '/etc/tscollective/clients/alice.example-1_x.pem');
    assert.equal(nameFromCallerid('cert=../../root'), null);
    assert.equal(nameFromCallerid('uid=1000'), null);
  });

  test('a request whose callerid tries to escape the directory is rejected as malformed', async () => {
    const keys = await world.keys('walker', world.dir('walker'));
    const certDir = world.dir('walker-certs');
    const client = world.provider('client', { client_private: keys.privatePath, client_public: keys.publicPath, server_cert_dir: certDir });
    const server = world.provider('server', { server_private: '/x', server_public: '/x', client_cert_dir: certDir });
    const wire = client.send(request());
    const tampered = Buffer.from(wire);
    const at = tampered.indexOf('cert=walker');
    tampered.write('cert=../../..', at, 'latin1');
    assert.throws(() => server.provider.decodeRequest(tampered), MalformedMessageError);
  });
});

describe('private keys', () => {
  test('a private key readable by group or others is refused with a clear error', async () => {
    const keys = await world.keys('loose', world.dir('loose'));
    chmodSync(keys.privatePath, 0o640);
    const { provider } = world.provider('client', { client_private: keys.privatePath, client_public: keys.publicPath, server_cert_dir: world.dir('c') });
    assert.ok(provider.validate().some((p) => p.includes('accessible by group or others (mode 0640)') && p.includes('chmod 600')));
    assert.throws(() => provider.encodeRequest(request()), KeyFileError);
  });

  test('a passphrase-protected key works with its passphrase file, and is refused without it', async () => {
    const dir = world.dir('locked');
    const { privateKey, publicKey } = generateKeyPairSync('rsa', {
      modulusLength: 2048,
      publicKeyEncoding: { type: 'spki', format: 'pem' },
      privateKeyEncoding: { type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'correct horse' },
    });
    const privatePath = join(dir, 'locked-private.pem');
    const publicPath = join(dir, 'locked.pem');
    const passPath = join(dir, 'passphrase');
    writeFileSync(privatePath, privateKey, { mode: 0o600 });
    writeFileSync(publicPath, publicKey);
    writeFileSync(passPath, 'correct horse\n', { mode: 0o600 });
    const certDir = world.dir('locked-certs');
    world.install(certDir, 'locked', publicKey);
    const withPass = world.provider('client', { client_private: privatePath, client_public: publicPath, client_private_passphrase_file: passPath, server_cert_dir: certDir });
    assert.deepEqual(withPass.provider.validate(), []);
    const server = world.provider('server', { server_private: '/x', server_public: '/x', client_cert_dir: certDir });
    assert.equal(server.provider.decodeRequest(withPass.send(request())).callerid, 'cert=locked');
    const without = world.provider('client', { client_private: privatePath, client_public: publicPath, server_cert_dir: certDir });
    assert.ok(without.provider.validate().some((p) => /encrypted; configure its passphrase file/.test(p)), without.provider.validate().join('\n'));
    chmodSync(passPath, 0o644);
    const loosePass = world.provider('client', { client_private: privatePath, client_public: publicPath, client_private_passphrase_file: passPath, server_cert_dir: certDir });
    assert.ok(loosePass.provider.validate().some((p) => p.includes('passphrase file') && p.includes('group or others')));
  });

  test('mismatched private and public key files are reported', async () => {
    const a = await world.keys('half-a', world.dir('half-a'));
    const b = await world.keys('half-b', world.dir('half-b'));
    const { provider } = world.provider('client', { client_private: a.privatePath, client_public: b.publicPath, server_cert_dir: world.dir('c') });
    assert.ok(provider.validate().some((p) => p.includes('are not the same key pair')));
  });

  test('keys under 2048 bits are refused', () => {
    const dir = world.dir('weak');
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 1024, publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } });
    writeFileSync(join(dir, 'weak-private.pem'), privateKey, { mode: 0o600 });
    writeFileSync(join(dir, 'weak.pem'), publicKey);
    const { provider } = world.provider('client', { client_private: join(dir, 'weak-private.pem'), client_public: join(dir, 'weak.pem'), server_cert_dir: dir });
    assert.ok(provider.validate().some((p) => p.includes('1024 bits; 2048 to 4096 are accepted')));
  });
});

describe('key caching and reloading', () => {
  test('a changed key file is picked up after key_recheck_interval without a restart', async () => {
    const dir = world.dir('rotating');
    const certDir = world.dir('rotating-certs');
    const first = await world.keys('rotor', dir);
    world.install(certDir, 'rotor', first.publicPem);
    const client = world.provider('client', { client_private: first.privatePath, client_public: first.publicPath, server_cert_dir: certDir });
    const server = world.provider('server', { server_private: '/x', server_public: '/x', client_cert_dir: certDir });
    assert.ok(server.provider.decodeRequest(client.send(request())));
    const second = await world.keys('rotor', dir, await rsaPair());
    world.install(certDir, 'rotor', second.publicPem);
    world.clock += 1500;
    const decoded = server.provider.decodeRequest(client.send(request()));
    assert.equal(decoded.callerid, 'cert=rotor');
  });
});

describe('X.509 certificates as public keys', () => {
  test('the callerid is the certificate CN, and a Puppet-style cert works as server_public', async () => {
    const dir = world.dir('puppet');
    const pair = await world.keys('node1.example.com-key', dir);
    const certPath = join(dir, 'public_keys-node1.pem');
    writeFileSync(certPath, await ca.issue('node1.example.com', pair.publicPem));
    const certDir = world.dir('puppet-certs');
    world.install(certDir, 'node1.example.com', readFileSync(certPath, 'utf8'));
    const registrar = world.provider('server', { server_private: pair.privatePath, server_public: certPath, client_cert_dir: certDir });
    assert.equal(registrar.provider.callerid(), 'cert=node1.example.com');
    const receiver = world.provider('server', { server_private: '/x', server_public: '/x', client_cert_dir: certDir });
    const decoded = receiver.provider.decodeRequest(registrar.send(request({ agent: 'registration', senderid: 'node1.example.com' })));
    assert.equal(decoded.callerid, 'cert=node1.example.com');
  });
});

describe('CA verification', () => {
  async function caSetup(label: string) {
    const keys = await world.keys(label, world.dir(`${label}-keys`));
    const certDir = world.dir(`${label}-certs`);
    const caPath = join(world.dir(`${label}-ca`), 'ca.pem');
    writeFileSync(caPath, ca.certPem);
    const server = world.provider('server', { server_private: '/x', server_public: '/x', client_cert_dir: certDir, ca_cert: caPath });
    return { keys, certDir, caPath, server };
  }

  test('with ca_cert, a CA-signed certificate is accepted and a bare cached key is refused', async () => {
    const { keys, certDir, server } = await caSetup('carol');
    const certPath = join(world.dir('carol-keys'), 'carol-cert.pem');
    writeFileSync(certPath, await ca.issue('carol', keys.publicPem));
    const client = world.provider('client', { client_private: keys.privatePath, client_public: certPath, server_cert_dir: certDir });
    world.install(certDir, 'carol', keys.publicPem);
    assert.throws(() => server.provider.decodeRequest(client.send(request())), CaRejectedError);
    world.install(certDir, 'carol', readFileSync(certPath, 'utf8'));
    world.clock += 1500;
    assert.equal(server.provider.decodeRequest(client.send(request())).callerid, 'cert=carol');
  });

  test('with ca_cert, a cached certificate from another CA or past its expiry is refused', async () => {
    const { keys, certDir, server } = await caSetup('dave');
    const rogue = await makeCa('Rogue CA');
    const certPath = join(world.dir('dave-keys'), 'dave-cert.pem');
    writeFileSync(certPath, await rogue.issue('dave', keys.publicPem));
    world.install(certDir, 'dave', readFileSync(certPath, 'utf8'));
    const client = world.provider('client', { client_private: keys.privatePath, client_public: certPath, server_cert_dir: certDir });
    assert.throws(() => server.provider.decodeRequest(client.send(request())), /not signed by the configured CA/);

    const { keys: eKeys, certDir: eDir, server: eServer } = await caSetup('erin');
    const ePath = join(world.dir('erin-keys'), 'erin-cert.pem');
    writeFileSync(ePath, await ca.issue('erin', eKeys.publicPem, { days: 1 }));
    world.install(eDir, 'erin', readFileSync(ePath, 'utf8'));
    const eClient = world.provider('client', { client_private: eKeys.privatePath, client_public: ePath, server_cert_dir: eDir });
    assert.ok(eServer.provider.decodeRequest(eClient.send(request())));
    world.clock += 3 * 86400_000;
    try {
      assert.throws(() => eServer.provider.decodeRequest(eClient.send(request())), /expired at/);
    } finally {
      world.clock -= 3 * 86400_000;
    }
  });
});

describe('learning public keys', () => {
  test('insecure learning stores an attached key once, atomically, with a warning and a sidecar record', async () => {
    const keys = await world.keys('frank', world.dir('frank-keys'));
    const certDir = world.dir('frank-certs');
    const client = world.provider('client', { client_private: keys.privatePath, client_public: keys.publicPath, server_cert_dir: certDir, send_pubkey: 1 });
    const server = world.provider('server', { server_private: '/x', server_public: '/x', client_cert_dir: certDir, learn_pubkeys: 1, insecure_learning: 1 });
    assert.equal(server.provider.decodeRequest(client.send(request())).callerid, 'cert=frank');
    assert.equal(readFileSync(join(certDir, 'frank.pem'), 'utf8'), keys.publicPem);
    assert.equal(JSON.parse(readFileSync(learnedRecordPath(certDir, 'frank'), 'utf8')).keys[0].verifiedBy, 'insecure_learning');
    assert.equal(server.logger.find('warn', 'WITHOUT CA verification').length, 1);
    assert.deepEqual(readdirSync(certDir).filter((f) => f.endsWith('.tmp')), []);
    // A different key claiming the same name never replaces the stored one.
    const impostorKeys = await world.keys('frank', world.dir('impostor'));
    const impostor = world.provider('client', { client_private: impostorKeys.privatePath, client_public: impostorKeys.publicPath, server_cert_dir: certDir, send_pubkey: 1 });
    world.clock += 1500;
    assert.throws(() => server.provider.decodeRequest(impostor.send(request())), UnknownSenderError);
    assert.equal(readFileSync(join(certDir, 'frank.pem'), 'utf8'), keys.publicPem);
  });

  test('without ca_cert or insecure_learning nothing is learned, and validate() says why', async () => {
    const keys = await world.keys('gina', world.dir('gina-keys'));
    const certDir = world.dir('gina-certs');
    const client = world.provider('client', { client_private: keys.privatePath, client_public: keys.publicPath, server_cert_dir: certDir, send_pubkey: 1 });
    const server = world.provider('server', { server_private: '/x', server_public: '/x', client_cert_dir: certDir, learn_pubkeys: 1 });
    assert.throws(() => server.provider.decodeRequest(client.send(request())), CaRejectedError);
    assert.equal(existsSync(join(certDir, 'gina.pem')), false);
    assert.ok(server.provider.validate().some((p) => p.includes('plugin.aes.learn_pubkeys') && p.includes('insecure_learning')));
  });

  test('with ca_cert, only a CA-signed certificate whose CN is the callerid name is learned', async () => {
    const certDir = world.dir('hank-certs');
    const caPath = join(world.dir('hank-ca'), 'ca.pem');
    writeFileSync(caPath, ca.certPem);
    const server = world.provider('server', { server_private: '/x', server_public: '/x', client_cert_dir: certDir, learn_pubkeys: 1, ca_cert: caPath });
    const hank = await world.keys('hank', world.dir('hank-keys'));
    const certPath = join(world.dir('hank-keys'), 'hank-cert.pem');
    writeFileSync(certPath, await ca.issue('hank', hank.publicPem));
    const good = world.provider('client', { client_private: hank.privatePath, client_public: certPath, server_cert_dir: certDir, send_pubkey: 1 });
    assert.equal(server.provider.decodeRequest(good.send(request())).callerid, 'cert=hank');
    assert.equal(JSON.parse(readFileSync(learnedRecordPath(certDir, 'hank'), 'utf8')).keys[0].verifiedBy, 'ca');
    const selfMade = await world.keys('ivan', world.dir('ivan-keys'));
    const bare = world.provider('client', { client_private: selfMade.privatePath, client_public: selfMade.publicPath, server_cert_dir: certDir, send_pubkey: 1 });
    assert.throws(() => server.provider.decodeRequest(bare.send(request())), CaRejectedError);
    assert.equal(existsSync(join(certDir, 'ivan.pem')), false);
  });
});
