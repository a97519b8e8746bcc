import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate, createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvalidArgumentError, KeyFileError } from '../../src/errors.js';
import {
  certificateInfo,
  createCa,
  generateKeyPairFiles,
  publicKeyInfo,
  signCertificate,
  verifyCertificate,
  type CaMaterial,
} from '../../src/keys/index.js';

const DAY_MS = 86_400_000;
let dir: string;
let ca: CaMaterial;
let otherCa: CaMaterial;
let alicePublic: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tsc-keys-'));
  // The CA is back-dated so certificates issued "in the past" fall inside its validity.
  const caStart = new Date(Date.now() - 30 * DAY_MS);
  [ca, otherCa] = await Promise.all([createCa({ cn: 'Test CA', notBefore: caStart }), createCa({ cn: 'Other CA' })]);
  const files = await generateKeyPairFiles('alice', { dir });
  alicePublic = await readFile(files.publicPath, 'utf8');
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('generateKeyPairFiles', () => {
  test('writes NAME-private.pem (0600, PKCS#8) and NAME.pem (SPKI) that form a pair', async () => {
    const privatePath = join(dir, 'alice-private.pem');
    const privatePem = await readFile(privatePath, 'utf8');
    assert.match(privatePem, /^-----BEGIN PRIVATE KEY-----/);
    assert.match(alicePublic, /^-----BEGIN PUBLIC KEY-----/);
    assert.equal((await stat(privatePath)).mode & 0o777, 0o600);
    const derived = createPublicKey(createPrivateKey(privatePem)).export({ type: 'spki', format: 'pem' });
    assert.equal(derived, alicePublic);
    assert.equal(createPublicKey(alicePublic).asymmetricKeyDetails?.modulusLength, 2048);
  });

  test('refuses to overwrite an existing pair unless asked to', async () => {
    await assert.rejects(generateKeyPairFiles('alice', { dir }), (error: unknown) =>
      error instanceof KeyFileError && /already exists/.test(error.message));
    assert.equal(await readFile(join(dir, 'alice.pem'), 'utf8'), alicePublic);
  });

  test('encrypts the private key with the passphrase', async () => {
    const files = await generateKeyPairFiles('bob', { dir, passphrase: 'correct horse' });
    const pem = await readFile(files.privatePath, 'utf8');
    assert.match(pem, /^-----BEGIN ENCRYPTED PRIVATE KEY-----/);
    assert.throws(() => createPrivateKey({ key: pem, passphrase: 'wrong' }));
    assert.equal(createPrivateKey({ key: pem, passphrase: 'correct horse' }).asymmetricKeyType, 'rsa');
  });

  test('refuses weak sizes, bad names and empty passphrases before writing anything', async () => {
    for (const name of ['../evil', '.hidden', 'a b', '', 'x/y']) {
      await assert.rejects(generateKeyPairFiles(name, { dir }), InvalidArgumentError, `name ${JSON.stringify(name)}`);
    }
    await assert.rejects(generateKeyPairFiles('weak', { dir, bits: 1024 as 2048 }), /options\.bits: 1024/);
    await assert.rejects(generateKeyPairFiles('nopass', { dir, passphrase: '' }), /options\.passphrase/);
    await assert.rejects(stat(join(dir, 'weak.pem')), { code: 'ENOENT' });
  });
});

describe('createCa and signCertificate', () => {
  test('the CA is self-signed, a CA, and allowed to sign certificates', () => {
    const cert = new X509Certificate(ca.certPem);
    assert.equal(cert.ca, true);
    assert.equal(cert.subject, 'CN=Test CA');
    assert.ok(cert.checkIssued(cert));
    assert.ok(cert.verify(createPublicKey(ca.keyPem)));
  });

  test('a leaf certificate carries CN=name and the given key, issued by the CA', async () => {
    const pem = await signCertificate({ caCertPem: ca.certPem, caKeyPem: ca.keyPem, publicKeyPem: alicePublic, cn: 'alice' });
    const cert = new X509Certificate(pem);
    assert.equal(cert.subject, 'CN=alice');
    assert.equal(cert.ca, false);
    assert.ok(cert.checkIssued(new X509Certificate(ca.certPem)));
    assert.ok(cert.verify(new X509Certificate(ca.certPem).publicKey));
    assert.equal(cert.publicKey.export({ type: 'spki', format: 'pem' }), alicePublic);
    assert.deepEqual(await verifyCertificate(pem, ca.certPem), { ok: true });

    const info = certificateInfo(pem);
    assert.equal(info.cn, 'alice');
    assert.equal(info.issuer, 'CN=Test CA');
    assert.equal(info.fingerprint, publicKeyInfo(alicePublic).fingerprint);
    assert.ok(info.notAfter.getTime() - info.notBefore.getTime() >= 365 * DAY_MS - 1000);
    assert.equal(publicKeyInfo(pem).kind, 'certificate');
    assert.equal(publicKeyInfo(alicePublic).kind, 'public-key');
  });

  test('refuses a CA key that does not match the CA certificate, a non-CA issuer, weak keys and bad names', async () => {
    await assert.rejects(
      signCertificate({ caCertPem: ca.certPem, caKeyPem: otherCa.keyPem, publicKeyPem: alicePublic, cn: 'alice' }),
      /does not belong to the CA/,
    );
    const leaf = await signCertificate({ caCertPem: ca.certPem, caKeyPem: ca.keyPem, publicKeyPem: alicePublic, cn: 'alice' });
    await assert.rejects(
      signCertificate({ caCertPem: leaf, caKeyPem: ca.keyPem, publicKeyPem: alicePublic, cn: 'mallory' }),
      /not a CA/,
    );
    const weak = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ type: 'spki', format: 'pem' }) as string;
    await assert.rejects(signCertificate({ caCertPem: ca.certPem, caKeyPem: ca.keyPem, publicKeyPem: weak, cn: 'weak' }), /1024 bits; 2048 to 4096 are accepted/);
    await assert.rejects(signCertificate({ caCertPem: ca.certPem, caKeyPem: ca.keyPem, publicKeyPem: alicePublic, cn: 'a=b,CN=root' }), InvalidArgumentError);
    await assert.rejects(createCa({ cn: 'CN=x,O=y' }), /options\.cn/);
  });
});

describe('verifyCertificate', () => {
  test('rejects a certificate from another CA, naming the issuer mismatch', async () => {
    const foreign = await signCertificate({ caCertPem: otherCa.certPem, caKeyPem: otherCa.keyPem, publicKeyPem: alicePublic, cn: 'alice' });
    const verdict = await verifyCertificate(foreign, ca.certPem);
    assert.equal(verdict.ok, false);
    assert.match((verdict as { reason: string }).reason, /issuer "CN=Other CA" is not the CA "CN=Test CA"/);
  });

  test('rejects a forged certificate whose issuer name matches but whose signature does not', async () => {
    const impostor = await createCa({ cn: 'Test CA' });
    const forged = await signCertificate({ caCertPem: impostor.certPem, caKeyPem: impostor.keyPem, publicKeyPem: alicePublic, cn: 'alice' });
    const verdict = await verifyCertificate(forged, ca.certPem);
    assert.deepEqual(verdict.ok, false);
    assert.match((verdict as { reason: string }).reason, /signature does not verify/);
  });

  test('checks the validity period at the given time', async () => {
    const notBefore = new Date(Date.now() - 10 * DAY_MS);
    const pem = await signCertificate({ caCertPem: ca.certPem, caKeyPem: ca.keyPem, publicKeyPem: alicePublic, cn: 'alice', days: 2, notBefore });
    const expired = await verifyCertificate(pem, ca.certPem);
    assert.match((expired as { reason: string }).reason, /certificate "CN=alice" expired at/);
    assert.deepEqual(await verifyCertificate(pem, ca.certPem, { at: new Date(notBefore.getTime() + DAY_MS) }), { ok: true });
    const early = await verifyCertificate(pem, ca.certPem, { at: new Date(notBefore.getTime() - DAY_MS) });
    assert.match((early as { reason: string }).reason, /^certificate "CN=alice" is not valid before/);
    const beforeCa = await verifyCertificate(pem, ca.certPem, { at: new Date(Date.now() - 40 * DAY_MS) });
    assert.match((beforeCa as { reason: string }).reason, /not valid before/);
  });

  test('rejects a non-CA used as the CA, and garbage input, without throwing', async () => {
    const leaf = await signCertificate({ caCertPem: ca.certPem, caKeyPem: ca.keyPem, publicKeyPem: alicePublic, cn: 'alice' });
    assert.match(((await verifyCertificate(leaf, leaf)) as { reason: string }).reason, /is not a CA/);
    assert.match(((await verifyCertificate('garbage', ca.certPem)) as { reason: string }).reason, /^certificate: not a PEM/);
    assert.match(((await verifyCertificate(leaf, 'garbage')) as { reason: string }).reason, /^CA certificate: not a PEM/);
    assert.throws(() => certificateInfo('garbage'), InvalidArgumentError);
    assert.throws(() => publicKeyInfo('garbage'), InvalidArgumentError);
  });

  test('rejects a certificate with a flipped signature byte', async () => {
    const pem = await signCertificate({ caCertPem: ca.certPem, caKeyPem: ca.keyPem, publicKeyPem: alicePublic, cn: 'alice' });
    const der = new X509Certificate(pem).raw;
    der[der.length - 5] ^= 0x01; // inside the signature BIT STRING, which ends the certificate
    const tampered = `-----BEGIN CERTIFICATE-----\n${der.toString('base64').replace(/.{64}/g, '$&\n')}\n-----END CERTIFICATE-----\n`;
    const path = join(dir, 'tampered.pem');
    await writeFile(path, tampered);
    const verdict = await verifyCertificate(await readFile(path, 'utf8'), ca.certPem);
    assert.equal(verdict.ok, false);
  });
});
