/**
 * Known answers of the signature schemes, one per key type (test/vectors/signature-schemes.json): Ed25519 (RFC 8032,
 * signed and verified), ECDSA P-256 SHA-256 as r || s (RFC 6979, verified), RSA-PSS SHA-256 with a 32-byte salt
 * (a committed signature, verified). Each key is read and imported the way the provider reads key files.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { importSpki, readSpki, SIGNATURE_SCHEMES } from '../../src/keys/key-types.js';
import { signParts, verifyParts } from '../../plugins/security/aes_security/primitives.js';

interface Vector {
  scheme: string;
  type: 'rsa' | 'p256' | 'ed25519';
  source: string;
  spki_hex: string;
  private_seed_hex?: string;
  message_hex: string;
  signature_hex: string;
  deterministic: boolean;
}

const { vectors } = JSON.parse(readFileSync(new URL('../../../test/vectors/signature-schemes.json', import.meta.url), 'utf8')) as { vectors: Vector[] };

describe('signature scheme known answers', () => {
  test('every key type has vectors, under the scheme the protocol names for it', () => {
    assert.deepEqual([...new Set(vectors.map((v) => v.type))].sort(), ['ed25519', 'p256', 'rsa']);
    for (const vector of vectors) assert.equal(SIGNATURE_SCHEMES[vector.type], vector.scheme);
  });

  for (const vector of vectors) {
    test(`${vector.scheme}: ${vector.source}`, () => {
      const spki = Buffer.from(vector.spki_hex, 'hex');
      const facts = readSpki(spki);
      assert.equal(facts.type, vector.type);
      assert.equal(facts.kid, createHash('sha256').update(spki).digest('hex').slice(0, 32));
      const key = importSpki(facts);
      const message = Buffer.from(vector.message_hex, 'hex');
      const signature = Buffer.from(vector.signature_hex, 'hex');
      // The message may be given in parts: the signature covers their concatenation.
      const parts = [message.subarray(0, message.length >> 1), message.subarray(message.length >> 1)];
      assert.equal(verifyParts(vector.type, key, parts, signature), true);
      const flipped = Buffer.from(signature);
      flipped[flipped.length - 1]! ^= 0x01;
      assert.equal(verifyParts(vector.type, key, parts, flipped), false);
      assert.equal(verifyParts(vector.type, key, [message, Buffer.from([0])], signature), false);
      assert.equal(verifyParts(vector.type, key, parts, signature.subarray(1)), false);
      if (vector.private_seed_hex) {
        const privateKey = createPrivateKey({
          key: { kty: 'OKP', crv: 'Ed25519', d: Buffer.from(vector.private_seed_hex, 'hex').toString('base64url'), x: facts.material.toString('base64url') },
          format: 'jwk',
        });
        assert.equal(signParts(vector.type, privateKey, parts).toString('hex'), vector.signature_hex);
      }
    });
  }

  test('a signature of one scheme never verifies under another key type', () => {
    const ed = vectors.find((v) => v.type === 'ed25519')!;
    const ec = vectors.find((v) => v.type === 'p256')!;
    const ecKey = importSpki(readSpki(Buffer.from(ec.spki_hex, 'hex')));
    // A 64-byte Ed25519 signature has the shape of an r || s pair: still refused by the P-256 key.
    assert.equal(verifyParts('p256', ecKey, [Buffer.from(ed.message_hex, 'hex')], Buffer.from(ed.signature_hex, 'hex')), false);
    assert.equal(verifyParts('ed25519', ecKey, [Buffer.from(ec.message_hex, 'hex')], Buffer.from(ec.signature_hex, 'hex')), false);
  });
});
