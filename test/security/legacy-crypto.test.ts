/**
 * The cryptography of protocol version 1 against known answers made by Ruby/OpenSSL (test/vectors/legacy-*.json):
 * EVP_BytesToKey, a fixed-pass AES-256-CBC encryption as MCollective's ssl.rb does it, Ruby's base64 layout, and the
 * constant-time PKCS#1 v1.5 unpadding of reply keys.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { constants, createHash, publicEncrypt, randomBytes } from 'node:crypto';
import { MalformedMessageError } from '../../src/errors.js';
import {
  PASS_BYTES, aesDecrypt, aesEncrypt, decode64, encode64, unwrapReplyPass, unwrapRequestPass, wrapReplyPass, wrapRequestPass,
} from '../../plugins/security/aes_security/v1/crypto.js';
import { EVP_ROUNDS, evpBytesToKey, md5Repeat } from '../../plugins/security/aes_security/v1/evp.js';
import { KEYS, repoFile } from './legacy-fixtures.js';

const json = (path: string) => JSON.parse(repoFile(path).toString('utf8'));

test('EVP_BytesToKey matches OpenSSL for every vector', () => {
  const { rounds, vectors } = json('test/vectors/legacy-evp-bytes-to-key.json');
  assert.equal(rounds, EVP_ROUNDS);
  assert.ok(vectors.length >= 5);
  for (const v of vectors) {
    const { key, iv } = evpBytesToKey(Buffer.from(v.pass, 'hex'));
    assert.equal(key.toString('hex'), v.key, v.pass);
    assert.equal(iv.toString('hex'), v.iv, v.pass);
  }
});

test('the unrolled MD5 equals node:crypto MD5, round after round', () => {
  for (let trial = 0; trial < 20; trial++) {
    const start = randomBytes(16);
    let expected = start;
    for (let i = 0; i < 1 + trial * 3; i++) expected = createHash('md5').update(expected).digest();
    assert.equal(md5Repeat(start, 1 + trial * 3).toString('hex'), expected.toString('hex'));
  }
  assert.equal(md5Repeat(Buffer.alloc(16), 0).toString('hex'), '0'.repeat(32));
});

test("a fixed-pass encryption is byte for byte what Ruby's ssl.rb produces, and decrypts back", () => {
  const { pass_hex: passHex, vectors } = json('test/vectors/legacy-aes-fixed-pass.json');
  const pass = Buffer.from(passHex, 'hex');
  for (const v of vectors) {
    const plaintext = Buffer.from(v.plaintext_base64, 'base64');
    assert.equal(encode64(aesEncrypt(pass, plaintext)), v.ciphertext_encode64, v.serializer);
    assert.deepEqual(aesDecrypt(pass, decode64(v.ciphertext_encode64, 'vector')), plaintext);
  }
});

test('a wrong pass or a damaged ciphertext does not decrypt (null), nor does a partial block', () => {
  const pass = randomBytes(32);
  const sealed = aesEncrypt(pass, Buffer.from('x'.repeat(100)));
  // Padding checks let about 1 wrong key in 256 through; try several so the test cannot pass by luck alone.
  let refused = 0;
  for (let i = 0; i < 8; i++) if (aesDecrypt(randomBytes(32), sealed) === null) refused++;
  assert.ok(refused >= 6, `${refused}/8 refused`);
  assert.equal(aesDecrypt(pass, sealed.subarray(0, sealed.length - 1)), null);
  assert.equal(aesDecrypt(pass, Buffer.alloc(0)), null);
});

test("encode64 is Ruby's Base64.encode64: 60 characters a line, each ending in a newline", () => {
  assert.equal(encode64(Buffer.alloc(0)), '');
  assert.equal(encode64(Buffer.from('pong')), 'cG9uZw==\n');
  const text = encode64(Buffer.alloc(100, 1));
  assert.deepEqual(text.split('\n').map((l) => l.length), [60, 60, 16, 0]);
  assert.equal(encode64(Buffer.alloc(45)).split('\n')[0]!.length, 60);
});

test('decode64 accepts what Ruby writes and refuses what is not base64', () => {
  assert.deepEqual(decode64('cG9u\nZw==\n', 'f'), Buffer.from('pong'));
  assert.deepEqual(decode64('  cG9uZw==  ', 'f'), Buffer.from('pong'));
  for (const bad of ['cG9uZw=', 'cG9uZw=x', 'cG9u*w==', 'cG=uZw==', '', '\n', 'cG9uZw==cG9u']) {
    assert.throws(() => decode64(bad, 'field'), (e: unknown) => e instanceof MalformedMessageError && /field/.test(e.message), JSON.stringify(bad));
  }
});

test('request passes: private-encrypted by the client, opened only with its public key', () => {
  const pass = randomBytes(PASS_BYTES);
  const wrapped = wrapRequestPass(KEYS.alicePrivate, pass);
  assert.deepEqual(unwrapRequestPass(KEYS.alicePublic, wrapped, 'cert=alice'), pass);
  assert.throws(() => unwrapRequestPass(KEYS.serverPublic, wrapped, 'cert=server'), /does not open with cert=server/);
  assert.throws(() => unwrapRequestPass(KEYS.alicePublic, wrapped.subarray(1), 'cert=alice'), /255 bytes/);
  assert.throws(() => unwrapRequestPass(KEYS.alicePublic, wrapRequestPass(KEYS.alicePrivate, randomBytes(16)), 'cert=alice'), /16 bytes, not a 32-byte pass/);
});

test('reply passes: public-encrypted to the caller, opened by raw RSA and constant-time unpadding', () => {
  const pass = randomBytes(PASS_BYTES);
  assert.deepEqual(unwrapReplyPass(KEYS.alicePrivate, wrapReplyPass(KEYS.alicePublic, pass)), pass);
  assert.throws(() => unwrapReplyPass(KEYS.alicePrivate, Buffer.alloc(10)), MalformedMessageError);
});

/** An encryption block `00 02 PS 00 M` built by hand, then RSA-encrypted raw to alice. */
function rawBlock(edit: (em: Buffer) => void): Buffer {
  const em = Buffer.alloc(256);
  em[1] = 0x02;
  randomBytes(256 - 3 - PASS_BYTES).forEach((b, i) => { em[2 + i] = b === 0 ? 1 : b; });
  em[256 - PASS_BYTES - 1] = 0;
  randomBytes(PASS_BYTES).copy(em, 256 - PASS_BYTES);
  edit(em);
  return publicEncrypt({ key: KEYS.alicePublic, padding: constants.RSA_NO_PADDING }, em);
}

test('bad reply key blocks yield an implicit-rejection pass: deterministic, never the embedded bytes', () => {
  const valid = rawBlock(() => {});
  assert.equal(unwrapReplyPass(KEYS.alicePrivate, valid).length, PASS_BYTES);
  const cases: Record<string, (em: Buffer) => void> = {
    'first byte not 0': (em) => { em[0] = 1; em.fill(0, 0, 0); },
    'block type 1': (em) => { em[1] = 0x01; },
    'a zero inside the padding': (em) => { em[20] = 0; },
    'no separator before the pass': (em) => { em[256 - PASS_BYTES - 1] = 7; },
    'a 31-byte message': (em) => { em[256 - PASS_BYTES] = 0; em[256 - PASS_BYTES - 1] = 9; },
  };
  for (const [name, edit] of Object.entries(cases)) {
    let embedded = Buffer.alloc(0);
    const wrapped = rawBlock((em) => { edit(em); embedded = Buffer.from(em.subarray(256 - PASS_BYTES)); });
    const first = unwrapReplyPass(KEYS.alicePrivate, wrapped);
    assert.equal(first.length, PASS_BYTES, name);
    assert.notDeepEqual(first, embedded, name);
    assert.deepEqual(unwrapReplyPass(KEYS.alicePrivate, wrapped), first, `${name}: same ciphertext, same pass`);
  }
});

test('a valid hand-made block gives exactly its embedded pass', () => {
  let embedded = Buffer.alloc(0);
  const wrapped = rawBlock((em) => { embedded = Buffer.from(em.subarray(256 - PASS_BYTES)); });
  assert.deepEqual(unwrapReplyPass(KEYS.alicePrivate, wrapped), embedded);
});
