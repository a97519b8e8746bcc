/**
 * The primitives of aes_security: known-answer vectors (test/vectors/*.json) and cross-tests of AES-256-GCM
 * between node:crypto (what the provider uses) and @noble/ciphers (an independent implementation).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createPrivateKey, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { gcm } from '@noble/ciphers/aes.js';
import {
  aeadDecrypt, aeadEncrypt, hmacSha256, randomBytesFast, x25519Agree, x25519Generate,
} from '../../plugins/security/aes_security/primitives.js';
import { InvalidArgumentError } from '../../src/errors.js';

const vectors = (name: string) => JSON.parse(readFileSync(new URL(`../../../test/vectors/${name}.json`, import.meta.url), 'utf8')).vectors as Record<string, string>[];
const hex = (text: string) => Buffer.from(text, 'hex');

describe('AES-256-GCM known answers', () => {
  for (const v of vectors('aes-256-gcm')) {
    test(`${v.name}: node:crypto and @noble/ciphers both produce the published ciphertext and tag`, () => {
      const expected = Buffer.concat([hex(v.ciphertext!), hex(v.tag!)]);
      assert.equal(aeadEncrypt(hex(v.key!), hex(v.iv!), hex(v.plaintext!), hex(v.aad!)).toString('hex'), expected.toString('hex'));
      assert.equal(Buffer.from(gcm(hex(v.key!), hex(v.iv!), hex(v.aad!)).encrypt(hex(v.plaintext!))).toString('hex'), expected.toString('hex'));
      assert.equal(aeadDecrypt(hex(v.key!), hex(v.iv!), expected, hex(v.aad!))!.toString('hex'), v.plaintext);
    });
  }
});

describe('AES-256-GCM cross-tests node:crypto <-> @noble/ciphers', () => {
  test('random keys, nonces, AAD and lengths 0..2000 interoperate in both directions', () => {
    for (let length = 0; length <= 2000; length += 37) {
      const key = randomBytes(32);
      const iv = randomBytes(12);
      const aad = randomBytes(length % 50);
      const plaintext = randomBytes(length);
      const byNode = aeadEncrypt(key, iv, plaintext, aad);
      assert.deepEqual(Buffer.from(gcm(key, iv, aad).decrypt(byNode)), plaintext);
      const byNoble = gcm(key, iv, aad).encrypt(plaintext);
      assert.deepEqual(aeadDecrypt(key, iv, byNoble, aad), plaintext);
    }
  });

  test('a flipped bit in ciphertext, tag or AAD fails authentication in both implementations', () => {
    const key = randomBytes(32);
    const iv = randomBytes(12);
    const aad = Buffer.from('header');
    const sealed = aeadEncrypt(key, iv, Buffer.from('attack at dawn'), aad);
    for (const index of [0, 5, sealed.length - 1]) {
      const bad = Buffer.from(sealed);
      bad[index]! ^= 0x80;
      assert.equal(aeadDecrypt(key, iv, bad, aad), null);
      assert.throws(() => gcm(key, iv, aad).decrypt(bad));
    }
    assert.equal(aeadDecrypt(key, iv, sealed, Buffer.from('headeR')), null);
  });

  test('inputs are checked where they enter, naming the argument', () => {
    assert.throws(() => aeadEncrypt(new Uint8Array(16), new Uint8Array(12), new Uint8Array(0), new Uint8Array(0)), new InvalidArgumentError('"aes key" expected 32 bytes, got 16'));
    assert.throws(() => aeadEncrypt(new Uint8Array(32), new Uint8Array(8), new Uint8Array(0), new Uint8Array(0)), /"gcm iv" expected 12 bytes, got 8/);
    assert.throws(() => x25519Agree(x25519Generate().privateKey, new Uint8Array(31)), /"x25519 public key" expected 32 bytes, got 31/);
  });
});

describe('X25519 and HMAC-SHA256 known answers', () => {
  for (const v of vectors('x25519')) {
    test(`RFC 7748: ${v.name}`, () => {
      const privateKey = createPrivateKey({ key: Buffer.concat([hex('302e020100300506032b656e04220420'), hex(v.private!)]), format: 'der', type: 'pkcs8' });
      assert.equal(x25519Agree(privateKey, hex(v.peer_public!))!.toString('hex'), v.shared);
    });
  }
  test('X25519 agreement is symmetric for generated keys, and the all-zero point is refused', () => {
    const a = x25519Generate();
    const b = x25519Generate();
    assert.deepEqual(x25519Agree(a.privateKey, b.publicKey), x25519Agree(b.privateKey, a.publicKey));
    assert.equal(x25519Agree(a.privateKey, new Uint8Array(32)), null);
  });
  for (const v of vectors('hmac-sha256')) {
    test(`RFC 4231: ${v.name}`, () => {
      assert.equal(hmacSha256(hex(v.key!), hex(v.data!)).toString('hex'), v.mac);
    });
  }
});

describe('randomBytesFast', () => {
  test('returns independent buffers of the requested size and never repeats a nonce in 100k draws', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 100_000; i++) seen.add(randomBytesFast(12).toString('hex'));
    assert.equal(seen.size, 100_000);
    assert.equal(randomBytesFast(5000).length, 5000);
  });
});
