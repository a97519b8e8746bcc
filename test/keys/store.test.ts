import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPair } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { InvalidArgumentError, KeyFileError } from '../../src/errors.js';
import { createCa, learnedRecordPath, listKeys, preauthorizeKey, publicKeyInfo, signCertificate, type CaMaterial } from '../../src/keys/index.js';

const generate = promisify(generateKeyPair);
let dir: string;
let ca: CaMaterial;
let keyA: string;
let keyB: string;

async function rsaPublic(): Promise<string> {
  const { publicKey } = await generate('rsa', { modulusLength: 2048, publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } });
  return publicKey;
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tsc-store-'));
  [ca, keyA, keyB] = await Promise.all([createCa({ cn: 'Store CA' }), rsaPublic(), rsaPublic()]);
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('preauthorizeKey', () => {
  test('installs atomically, is idempotent, and refuses to replace a different key without force', async () => {
    const certDir = join(dir, 'clients');
    const first = await preauthorizeKey({ certDir, name: 'alice', pem: keyA });
    assert.equal(first.outcome, 'installed');
    assert.equal(await readFile(join(certDir, 'alice.pem'), 'utf8'), keyA);
    assert.equal((await stat(first.path)).mode & 0o777, 0o644);
    assert.equal((await preauthorizeKey({ certDir, name: 'alice', pem: keyA })).outcome, 'unchanged');
    await assert.rejects(preauthorizeKey({ certDir, name: 'alice', pem: keyB }), (error: unknown) =>
      error instanceof KeyFileError && /different key is installed for alice.*--force/.test(error.message));
    assert.equal(await readFile(join(certDir, 'alice.pem'), 'utf8'), keyA);
    const forced = await preauthorizeKey({ certDir, name: 'alice', pem: keyB, force: true });
    assert.equal(forced.outcome, 'replaced');
    assert.equal(forced.previousFingerprint, publicKeyInfo(keyA).fingerprint);
    assert.equal(await readFile(join(certDir, 'alice.pem'), 'utf8'), keyB);
    assert.deepEqual((await readdir(certDir)).filter((f) => f.endsWith('.tmp')), []);
  });

  test('refuses bad names, private keys, certificates for another name, and garbage', async () => {
    const certDir = join(dir, 'refusals');
    await assert.rejects(preauthorizeKey({ certDir, name: '../alice', pem: keyA }), /name: "\.\.\/alice"/);
    await assert.rejects(preauthorizeKey({ certDir, name: 'x', pem: '-----BEGIN PRIVATE KEY-----\nAA\n-----END PRIVATE KEY-----\n' }), /PRIVATE key/);
    const cert = await signCertificate({ caCertPem: ca.certPem, caKeyPem: ca.keyPem, publicKeyPem: keyA, cn: 'alice' });
    await assert.rejects(preauthorizeKey({ certDir, name: 'bob', pem: cert }), /CN is "alice".*"bob"/);
    await assert.rejects(preauthorizeKey({ certDir, name: 'x', pem: 'hello' }), InvalidArgumentError);
    await assert.rejects(stat(certDir), { code: 'ENOENT' });
  });
});

describe('listKeys', () => {
  test('tells installed from learned keys and reports the CA verdict of each', async () => {
    const certDir = join(dir, 'listing');
    const cert = await signCertificate({ caCertPem: ca.certPem, caKeyPem: ca.keyPem, publicKeyPem: keyA, cn: 'alice' });
    await preauthorizeKey({ certDir, name: 'alice', pem: cert });
    await preauthorizeKey({ certDir, name: 'bob', pem: keyB });
    // What the provider leaves when it learns a key: the file plus a sidecar record.
    const carolCert = await signCertificate({ caCertPem: ca.certPem, caKeyPem: ca.keyPem, publicKeyPem: keyB, cn: 'carol' });
    await writeFile(join(certDir, 'carol.pem'), carolCert);
    await writeFile(learnedRecordPath(certDir, 'carol'), JSON.stringify({ name: 'carol', keys: [{ kid: publicKeyInfo(keyB).kid, learnedAt: '2026-11-24T06:00:00.000Z', senderid: 'node1', verifiedBy: 'ca' }] }));
    await writeFile(join(certDir, 'broken.pem'), 'not a key');

    const entries = await listKeys({ certDir, caCertPem: ca.certPem });
    assert.deepEqual(entries.map((e) => [e.name, e.keys.map((k) => k.origin)]), [['alice', ['installed']], ['bob', ['installed']], ['broken', []], ['carol', ['learned']]]);
    const [alice, bob, broken, carol] = entries.map((e) => e) as [typeof entries[0], typeof entries[0], typeof entries[0], typeof entries[0]];
    assert.deepEqual(alice.keys[0]!.caVerdict, { ok: true });
    assert.equal(alice.keys[0]!.status, 'active');
    assert.equal(alice.keys[0]!.certificate?.issuer, 'CN=Store CA');
    assert.equal(alice.keys[0]!.fingerprint, publicKeyInfo(keyA).fingerprint);
    assert.equal(alice.keys[0]!.kid, publicKeyInfo(keyA).fingerprint.slice(0, 32));
    assert.equal(bob.keys[0]!.kind, 'public-key');
    assert.equal(bob.keys[0]!.keyType, 'rsa');
    assert.equal(bob.keys[0]!.bits, 2048);
    assert.match((bob.keys[0]!.caVerdict as { reason: string }).reason, /bare public key/);
    assert.match(broken.problem ?? '', /no PEM public key/);
    assert.equal(carol.keys[0]!.learned?.senderid, 'node1');
    assert.deepEqual(carol.keys[0]!.caVerdict, { ok: true });

    // Installing a learned key by hand makes it an installed one.
    await preauthorizeKey({ certDir, name: 'carol', pem: carolCert });
    assert.equal((await listKeys({ certDir })).find((e) => e.name === 'carol')?.keys[0]?.origin, 'installed');
  });
});
