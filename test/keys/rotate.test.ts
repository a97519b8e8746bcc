/**
 * Rotation and retirement in the key file layout, certifying a rotated file, and the per-key listing (status,
 * origin, type): the library behind `tsco keys rotate`, `retire`, `ca sign` and `list`.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { access, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KeyFileError } from '../../src/errors.js';
import {
  createCa, createCrl, generateKeyPairFiles, learnedRecordPath, listKeys, parseRevocationList, preauthorizeKey, publicKeyInfos, retireKey, rotateKeyPair,
  signCertificate, type CaMaterial,
} from '../../src/keys/index.js';
import { keyIdOfSpki } from '../../src/keys/key-types.js';
import { keptPrivateKeyPath } from '../../src/keys/layout.js';

let dir: string;
let ca: CaMaterial;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tsc-rotate-'));
  ca = await createCa({ cn: 'Rotation CA', type: 'ed25519' });
});
after(async () => rm(dir, { recursive: true, force: true }));

const kidsOf = async (path: string) => publicKeyInfos(await readFile(path, 'utf8')).map((info) => info.kid);

describe('rotateKeyPair and retireKey', () => {
  test('rotation keeps the old private key, puts the new public key first, and the new key signs', async () => {
    const keys = join(dir, 'alice');
    const first = await generateKeyPairFiles('alice', { dir: keys });
    const oldPrivate = await readFile(first.privatePath, 'utf8');
    const rotated = await rotateKeyPair('alice', { dir: keys, type: 'ed25519' });
    assert.equal(rotated.oldKid, first.kid);
    assert.equal(rotated.type, 'ed25519');
    assert.deepEqual(await kidsOf(first.publicPath), [rotated.newKid, first.kid]);
    assert.deepEqual(rotated.kids, [rotated.newKid, first.kid]);
    assert.equal(await readFile(keptPrivateKeyPath(keys, 'alice', first.kid), 'utf8'), oldPrivate);
    const active = createPrivateKey(await readFile(first.privatePath, 'utf8'));
    assert.equal(active.asymmetricKeyType, 'ed25519');
    const infos = publicKeyInfos(await readFile(first.publicPath, 'utf8'));
    assert.equal(keyIdOfSpki(createPublicKey(active).export({ type: 'spki', format: 'der' })), rotated.newKid);
    assert.equal(infos[0]!.keyType, 'ed25519');
    assert.equal(infos[1]!.keyType, 'rsa');
  });

  test('the default type is the current key\'s; an encrypted key needs its passphrase, which also seals the new one', async () => {
    const keys = join(dir, 'bob');
    const first = await generateKeyPairFiles('bob', { dir: keys, type: 'p256', passphrase: 'sesame' });
    await assert.rejects(rotateKeyPair('bob', { dir: keys }), (error: unknown) => error instanceof KeyFileError && /encrypted; give its --passphrase-file/.test(error.message));
    const rotated = await rotateKeyPair('bob', { dir: keys, passphrase: 'sesame' });
    assert.equal(rotated.type, 'p256');
    assert.match(await readFile(first.privatePath, 'utf8'), /ENCRYPTED PRIVATE KEY/);
  });

  test('rotation refuses a public file that does not hold the private key\'s key', async () => {
    const keys = join(dir, 'carol');
    await generateKeyPairFiles('carol', { dir: keys });
    const other = await generateKeyPairFiles('other', { dir: keys, type: 'ed25519' });
    await writeFile(join(keys, 'carol.pem'), await readFile(other.publicPath, 'utf8'));
    await assert.rejects(rotateKeyPair('carol', { dir: keys }), /holds no key of .*refusing to rotate/);
  });

  test('retire removes the key and its kept private key; the active key, an unknown id and the last key are refused', async () => {
    const keys = join(dir, 'dave');
    const first = await generateKeyPairFiles('dave', { dir: keys, type: 'ed25519' });
    const rotated = await rotateKeyPair('dave', { dir: keys });
    await assert.rejects(retireKey('dave', rotated.newKid, { dir: keys }), /is the one .* signs with; rotate/);
    await assert.rejects(retireKey('dave', 'ab'.repeat(16), { dir: keys }), /holds no key (abab)+ \(it holds/);
    const retired = await retireKey('dave', first.kid, { dir: keys });
    assert.deepEqual(retired.kids, [rotated.newKid]);
    assert.equal(retired.removedPrivatePath, keptPrivateKeyPath(keys, 'dave', first.kid));
    await assert.rejects(access(keptPrivateKeyPath(keys, 'dave', first.kid)));
    assert.deepEqual(await kidsOf(first.publicPath), [rotated.newKid]);
    // In a directory of others' keys (no private key) only the last key is protected.
    const certs = join(dir, 'dave-certs');
    await mkdir(certs);
    await writeFile(join(certs, 'dave.pem'), await readFile(first.publicPath, 'utf8'));
    await assert.rejects(retireKey('dave', rotated.newKid, { dir: certs }), /only key; retiring it would leave dave without a key/);
  });
});

describe('certifying and listing rotated files', () => {
  test('ca sign certifies the newest key in place and keeps the older ones', async () => {
    const keys = join(dir, 'erin');
    const first = await generateKeyPairFiles('erin', { dir: keys, type: 'p256' });
    const rotated = await rotateKeyPair('erin', { dir: keys });
    const text = await readFile(first.publicPath, 'utf8');
    const cert = await signCertificate({ caCertPem: ca.certPem, caKeyPem: ca.keyPem, publicKeyPem: text, cn: 'erin' });
    const certified = publicKeyInfos(cert)[0]!;
    assert.equal(certified.kid, rotated.newKid);
    assert.equal(certified.kind, 'certificate');
  });

  test('preauthorize installs a rotated file of several keys, and refuses one holding a certificate for another name', async () => {
    const keys = join(dir, 'gina');
    const first = await generateKeyPairFiles('gina', { dir: keys, type: 'ed25519' });
    const rotated = await rotateKeyPair('gina', { dir: keys });
    const installed = await preauthorizeKey({ certDir: join(dir, 'gina-certs'), name: 'gina', pem: await readFile(first.publicPath, 'utf8') });
    assert.deepEqual(installed.kids, [rotated.newKid, first.kid]);
    const stranger = await signCertificate({ caCertPem: ca.certPem, caKeyPem: ca.keyPem, publicKeyPem: await readFile(first.publicPath, 'utf8'), cn: 'someone' });
    await assert.rejects(preauthorizeKey({ certDir: join(dir, 'gina-certs-2'), name: 'gina', pem: (await readFile(first.publicPath, 'utf8')) + stranger }), /CN is "someone"/);
  });

  test('list: active, also valid, revoked (key id, serial, CRL) and expired keys; learned or installed; type and size', async () => {
    const keys = join(dir, 'frank');
    const first = await generateKeyPairFiles('frank', { dir: keys });
    const second = await rotateKeyPair('frank', { dir: keys, type: 'ed25519' });
    const third = await rotateKeyPair('frank', { dir: keys, type: 'p256' });
    let entries = await listKeys({ certDir: keys });
    const frank = entries.find((e) => e.name === 'frank')!;
    assert.deepEqual(frank.keys.map((k) => [k.kid, k.status, k.keyType, k.bits, k.origin]), [
      [third.newKid, 'active', 'p256', 256, 'installed'], [second.newKid, 'valid', 'ed25519', 256, 'installed'], [first.kid, 'valid', 'rsa', 2048, 'installed'],
    ]);
    // Kept private keys are files of the directory, not names.
    assert.deepEqual(entries.map((e) => e.name), ['frank']);
    const revoked = parseRevocationList(`${first.kid}\n`, 'list');
    entries = await listKeys({ certDir: keys, revoked });
    assert.equal(entries[0]!.keys[2]!.status, 'revoked');
    assert.match(entries[0]!.keys[2]!.statusReason!, /revoked_keys/);

    const certs = join(dir, 'frank-certs');
    await mkdir(certs);
    const pems = (await readFile(join(keys, 'frank.pem'), 'utf8')).split(/(?<=-----END PUBLIC KEY-----\n)/);
    const past = new Date(Date.now() - 10 * 86_400_000);
    const [current, expired, crlRevoked] = await Promise.all([
      signCertificate({ caCertPem: ca.certPem, caKeyPem: ca.keyPem, publicKeyPem: pems[0]!, cn: 'frank' }),
      signCertificate({ caCertPem: ca.certPem, caKeyPem: ca.keyPem, publicKeyPem: pems[1]!, cn: 'frank', notBefore: past, days: 1 }),
      signCertificate({ caCertPem: ca.certPem, caKeyPem: ca.keyPem, publicKeyPem: pems[2]!, cn: 'frank' }),
    ]);
    await writeFile(join(certs, 'frank.pem'), current + expired + crlRevoked);
    await writeFile(learnedRecordPath(certs, 'frank'), JSON.stringify({ name: 'frank', keys: [{ kid: third.newKid, learnedAt: 'then', senderid: 'ws1', verifiedBy: 'ca' }] }));
    const crlPem = await createCrl({ caCertPem: ca.certPem, caKeyPem: ca.keyPem, serials: [publicKeyInfos(crlRevoked)[0]!.serial!] });
    const listed = (await listKeys({ certDir: certs, caCertPem: ca.certPem, crlPem }))[0]!;
    assert.deepEqual(listed.keys.map((k) => [k.status, k.origin, k.caVerdict?.ok]), [['active', 'learned', true], ['expired', 'installed', false], ['revoked', 'installed', true]]);
    assert.match(listed.keys[2]!.statusReason!, /CA's CRL/);
    assert.equal(listed.keys[0]!.learned?.senderid, 'ws1');
  });
});
