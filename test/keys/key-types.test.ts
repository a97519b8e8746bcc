/**
 * Key types and the key file layout read from DER: key ids equal SHA-256 of the SPKI node exports, the cheap import
 * yields the same key, unsupported or oversized keys are refused before import, multi-PEM files split with bounds,
 * certificate serials match node's, and the revocation list format.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate, createHash, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvalidArgumentError, KeyFileError } from '../../src/errors.js';
import { createCa, generatePemKeyPair, signCertificate, type CaMaterial, type KeyType } from '../../src/keys/index.js';
import { importSpki, readSpki } from '../../src/keys/key-types.js';
import { MAX_KEYS_PER_FILE, parseLearnedRecord, readBlockKey, splitPemBlocks } from '../../src/keys/layout.js';
import { appendRevocation, parseRevocationList } from '../../src/keys/revocation-list.js';

const TYPES: KeyType[] = ['rsa', 'p256', 'ed25519'];
let dir: string;
let ca: CaMaterial;
const pairs = new Map<KeyType, { privateKeyPem: string; publicKeyPem: string; kid: string }>();

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tsc-key-types-'));
  ca = await createCa({ cn: 'Types CA', type: 'p256' });
  for (const type of TYPES) pairs.set(type, await generatePemKeyPair(type));
});
after(async () => rm(dir, { recursive: true, force: true }));

const spkiOf = (pem: string) => createPublicKey(pem).export({ type: 'spki', format: 'der' });

describe('key types from DER', () => {
  for (const type of TYPES) {
    test(`${type}: key id is SHA-256 of the exported SPKI, and the cheap import is the same key`, () => {
      const pair = pairs.get(type)!;
      const facts = readBlockKey(splitPemBlocks(pair.publicKeyPem)[0]!).facts;
      assert.equal(facts.type, type);
      assert.equal(facts.kid, createHash('sha256').update(spkiOf(pair.publicKeyPem)).digest('hex').slice(0, 32));
      assert.equal(facts.kid, pair.kid);
      assert.deepEqual(importSpki(facts).export({ type: 'spki', format: 'der' }), spkiOf(pair.publicKeyPem));
    });
  }

  test('RSA sizes outside 2048–4096, other curves and other algorithms are refused before any import', () => {
    const rsa1024 = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ type: 'spki', format: 'der' });
    assert.throws(() => readSpki(rsa1024), /1024 bits; 2048 to 4096 are accepted/);
    const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey.export({ type: 'spki', format: 'der' });
    assert.throws(() => readSpki(p384), /not on P-256/);
    const x25519 = generateKeyPairSync('x25519').publicKey.export({ type: 'spki', format: 'der' });
    assert.throws(() => readSpki(x25519), /unsupported key algorithm/);
    assert.throws(() => readSpki(Buffer.from('3003020100', 'hex')), InvalidArgumentError);
    assert.equal(readSpki(spkiOf(pairs.get('rsa')!.publicKeyPem)).bits, 2048);
  });

  test('a compressed P-256 point and trailing or truncated DER are refused', () => {
    const spki = spkiOf(pairs.get('p256')!.publicKeyPem);
    assert.throws(() => readSpki(Buffer.concat([spki, Buffer.from([0])])), /trailing bytes/);
    assert.throws(() => readSpki(spki.subarray(0, spki.length - 1)), /claims/);
    const altered = Buffer.from(spki);
    altered[spki.length - 65] = 0x02; // the point's format byte: compressed
    assert.throws(() => readSpki(altered), /uncompressed point/);
  });

  test('certificates: the serial and the key id are read from DER and match node', async () => {
    for (const type of TYPES) {
      const cert = await signCertificate({ caCertPem: ca.certPem, caKeyPem: ca.keyPem, publicKeyPem: pairs.get(type)!.publicKeyPem, cn: `n-${type}` });
      const { facts, serial } = readBlockKey(splitPemBlocks(cert)[0]!);
      const node = new X509Certificate(cert);
      assert.equal(serial, node.serialNumber.toLowerCase().replace(/^0+/, ''));
      assert.equal(facts.kid, pairs.get(type)!.kid);
      assert.equal(facts.type, type);
    }
  });
});

describe('PEM files of several keys', () => {
  test('blocks are split in order; text between them is ignored; private keys and other blocks are refused', () => {
    const text = `comment\n${pairs.get('rsa')!.publicKeyPem}between\n${pairs.get('ed25519')!.publicKeyPem}`;
    assert.deepEqual(splitPemBlocks(text).map((b) => readBlockKey(b).facts.type), ['rsa', 'ed25519']);
    assert.throws(() => splitPemBlocks(pairs.get('rsa')!.privateKeyPem), /PRIVATE key/);
    assert.throws(() => splitPemBlocks('-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n'), /"X509 CRL" PEM block/);
    assert.throws(() => splitPemBlocks('hello'), /no PEM public key/);
  });

  test(`a file may hold at most ${MAX_KEYS_PER_FILE} keys (bounded before decoding)`, () => {
    const one = pairs.get('ed25519')!.publicKeyPem;
    assert.equal(splitPemBlocks(one.repeat(MAX_KEYS_PER_FILE)).length, MAX_KEYS_PER_FILE);
    assert.throws(() => splitPemBlocks(one.repeat(MAX_KEYS_PER_FILE + 1)), /at most 16 keys per name/);
  });

  test('learned-key records: the list form, and the one-key form of earlier versions', () => {
    assert.deepEqual(parseLearnedRecord('{"name":"a","keys":[{"kid":"k","learnedAt":"t","senderid":"s","verifiedBy":"ca"}]}').keys.map((k) => k.kid), ['k']);
    const old = parseLearnedRecord('{"name":"a","kid":"k1","learnedAt":"t","senderid":"s","verifiedBy":"insecure_learning"}');
    assert.deepEqual(old.keys, [{ kid: 'k1', learnedAt: 't', senderid: 's', verifiedBy: 'insecure_learning' }]);
  });
});

describe('revocation lists', () => {
  const kid = 'ab'.repeat(16);
  test('key ids and serial:<hex> entries with comments; every bad line is named', () => {
    const list = parseRevocationList(`# retired laptop\n${kid}  # alice\n\nserial:00AbC\n`, 'revoked');
    assert.deepEqual([...list.kids], [kid]);
    assert.deepEqual([...list.serials], ['abc']);
    assert.throws(() => parseRevocationList(`${kid}\nnot-a-kid\nserial:xyz\n`, 'revoked'), (error: unknown) =>
      error instanceof KeyFileError && /revoked:2: "not-a-kid"/.test(error.message) && /revoked:3: "serial:xyz"/.test(error.message));
  });

  test('appendRevocation creates the file, adds an entry once, and refuses a bad one', async () => {
    const path = join(dir, 'revoked');
    assert.deepEqual(await appendRevocation(path, kid, 'stolen'), { added: true, entry: kid });
    assert.deepEqual(await appendRevocation(path, kid), { added: false, entry: kid });
    assert.deepEqual(await appendRevocation(path, 'serial:0F'), { added: true, entry: 'serial:f' });
    assert.equal(await readFile(path, 'utf8'), `${kid}  # stolen\nserial:f\n`);
    await assert.rejects(appendRevocation(path, 'nope'), InvalidArgumentError);
  });
});
