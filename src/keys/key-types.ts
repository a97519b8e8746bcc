/**
 * The key types tscollective identities may have (RSA 2048–4096, ECDSA P-256, Ed25519), read straight from a
 * SubjectPublicKeyInfo's DER bytes: the type, the size, the key id, and an import into a node KeyObject through the
 * cheapest form OpenSSL 3 offers (PKCS#1 DER for RSA, JWK for P-256 and Ed25519: decoding PEM or SPKI DER costs
 * ten to twenty times as much, docs/keys.md "Key resolution cost"). Everything is checked before anything is
 * imported, so an oversized or unsupported key costs a few byte comparisons.
 */
import { createPublicKey, hash, type KeyObject } from 'node:crypto';
import { InvalidArgumentError } from '../errors.js';
import { TAG, bitStringBytes, childrenOf, contentOf, encodeTlv, expectTlv } from './der.js';

/** The key types: `rsa` (2048–4096 bits), `p256` (ECDSA on NIST P-256), `ed25519`. */
export const KEY_TYPES = ['rsa', 'p256', 'ed25519'] as const;

/** One of the supported key types. */
export type KeyType = (typeof KEY_TYPES)[number];

/** Smallest and largest RSA modulus accepted for any key. */
export const RSA_BITS_RANGE = { min: 2048, max: 4096 } as const;

/** The signature scheme each key type signs messages with (docs/protocol.md, "Signatures"). */
export const SIGNATURE_SCHEMES: Readonly<Record<KeyType, string>> = Object.freeze({
  rsa: 'RSA-PSS-SHA256',
  p256: 'ECDSA-P256-SHA256',
  ed25519: 'Ed25519',
});

/** What a SubjectPublicKeyInfo holds, read without importing it. */
export interface SpkiFacts {
  readonly type: KeyType;
  /** RSA modulus bits; 256 for P-256 and Ed25519. */
  readonly bits: number;
  /** Key id: the first 16 bytes of SHA-256 over the SPKI DER, hex. */
  readonly kid: string;
  /** The SPKI DER (a view of the bytes it was read from). */
  readonly spki: Buffer;
  /** RSA: the RSAPublicKey DER; P-256: the uncompressed point; Ed25519: the 32 key bytes. */
  readonly material: Buffer;
}

const OID = {
  rsaEncryption: Buffer.from('2a864886f70d010101', 'hex'),
  ecPublicKey: Buffer.from('2a8648ce3d0201', 'hex'),
  prime256v1: Buffer.from('2a8648ce3d030107', 'hex'),
  ed25519: Buffer.from('2b6570', 'hex'),
} as const;

/** Whether `value` names a key type. */
export function isKeyType(value: unknown): value is KeyType {
  return typeof value === 'string' && (KEY_TYPES as readonly string[]).includes(value);
}

/** Throws InvalidArgumentError naming `argument` unless `value` is a key type. */
export function checkKeyType(value: unknown, argument = 'type'): KeyType {
  if (!isKeyType(value)) throw new InvalidArgumentError(`${argument}: ${JSON.stringify(value)} is not a key type (${KEY_TYPES.join(', ')})`);
  return value;
}

/** The key id of SPKI DER bytes: SHA-256, first 16 bytes, hex. */
export function keyIdOfSpki(spki: Uint8Array): string {
  return hash('sha256', spki, 'hex').slice(0, 32);
}

/** "rsa 2048 bits", "p256", "ed25519": a key's type and size for people. */
export function describeKey(facts: { type: KeyType; bits: number }): string {
  return facts.type === 'rsa' ? `rsa ${facts.bits} bits` : facts.type === 'p256' ? 'ecdsa p256' : 'ed25519';
}

/**
 * Reads a SubjectPublicKeyInfo: its type (RSA, P-256 or Ed25519; anything else is refused), size (RSA outside
 * 2048–4096 bits is refused), key id and raw key material. Throws InvalidArgumentError naming the problem.
 */
export function readSpki(der: Uint8Array): SpkiFacts {
  const outer = expectTlv(der, 0, TAG.sequence, 'SubjectPublicKeyInfo');
  if (outer.end !== der.length) throw new InvalidArgumentError('DER: trailing bytes after the SubjectPublicKeyInfo');
  const [algorithm, key, ...rest] = childrenOf(der, outer, 3);
  if (!algorithm || !key || rest.length > 0 || algorithm.tag !== TAG.sequence) throw new InvalidArgumentError('DER: not a SubjectPublicKeyInfo');
  const [oid, parameters] = childrenOf(der, algorithm, 2);
  if (!oid || oid.tag !== TAG.oid) throw new InvalidArgumentError('DER: the key algorithm is not an OID');
  const algorithmOid = Buffer.from(contentOf(der, oid));
  // Views, not copies: the DER belongs to the caller's PEM block, which the facts outlive with it.
  const raw = asBuffer(bitStringBytes(der, key, 'subjectPublicKey'));
  const spki = asBuffer(der);
  if (algorithmOid.equals(OID.rsaEncryption)) {
    if (parameters && parameters.tag !== TAG.null) throw new InvalidArgumentError('DER: RSA key parameters must be NULL');
    const bits = rsaModulusBits(raw);
    if (bits < RSA_BITS_RANGE.min || bits > RSA_BITS_RANGE.max) {
      throw new InvalidArgumentError(`RSA key has ${bits} bits; ${RSA_BITS_RANGE.min} to ${RSA_BITS_RANGE.max} are accepted`);
    }
    return { type: 'rsa', bits, kid: keyIdOfSpki(spki), spki, material: raw };
  }
  if (algorithmOid.equals(OID.ecPublicKey)) {
    const curve = parameters && parameters.tag === TAG.oid ? Buffer.from(contentOf(der, parameters)) : undefined;
    if (!curve || !curve.equals(OID.prime256v1)) throw new InvalidArgumentError('ECDSA key is not on P-256 (the only curve accepted)');
    if (raw.length !== 65 || raw[0] !== 0x04) throw new InvalidArgumentError('P-256 key is not an uncompressed point (65 bytes starting 0x04)');
    return { type: 'p256', bits: 256, kid: keyIdOfSpki(spki), spki, material: raw };
  }
  if (algorithmOid.equals(OID.ed25519)) {
    if (parameters) throw new InvalidArgumentError('DER: Ed25519 keys have no parameters');
    if (raw.length !== 32) throw new InvalidArgumentError(`Ed25519 key has ${raw.length} bytes, expected 32`);
    return { type: 'ed25519', bits: 256, kid: keyIdOfSpki(spki), spki, material: raw };
  }
  throw new InvalidArgumentError(`unsupported key algorithm (OID bytes ${algorithmOid.toString('hex')}); accepted: RSA, ECDSA P-256, Ed25519`);
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
}

/** Wraps a PKCS#1 RSAPublicKey (`-----BEGIN RSA PUBLIC KEY-----`) into the SubjectPublicKeyInfo the key id hashes. */
export function spkiOfRsaPublicKey(pkcs1: Uint8Array): Buffer {
  const algorithm = encodeTlv(TAG.sequence, Buffer.concat([encodeTlv(TAG.oid, OID.rsaEncryption), encodeTlv(TAG.null, Buffer.alloc(0))]));
  const key = encodeTlv(TAG.bitString, Buffer.concat([Buffer.from([0]), pkcs1]));
  return encodeTlv(TAG.sequence, Buffer.concat([algorithm, key]));
}

function rsaModulusBits(rsaPublicKey: Uint8Array): number {
  const sequence = expectTlv(rsaPublicKey, 0, TAG.sequence, 'RSAPublicKey');
  const [modulus, exponent] = childrenOf(rsaPublicKey, sequence, 2);
  if (!modulus || !exponent || modulus.tag !== TAG.integer || exponent.tag !== TAG.integer) throw new InvalidArgumentError('DER: not an RSAPublicKey');
  let bytes = contentOf(rsaPublicKey, modulus);
  while (bytes.length > 0 && bytes[0] === 0) bytes = bytes.subarray(1);
  if (bytes.length === 0) return 0;
  return (bytes.length - 1) * 8 + (32 - Math.clz32(bytes[0]!));
}

/**
 * Imports the key the facts describe into a KeyObject, by the cheapest route OpenSSL 3 has for each type
 * (measured by `npm run bench`, "key resolution"): RSA as PKCS#1 DER, P-256 and Ed25519 as JWK.
 */
export function importSpki(facts: SpkiFacts): KeyObject {
  switch (facts.type) {
    case 'rsa':
      return createPublicKey({ key: facts.material, format: 'der', type: 'pkcs1' });
    case 'p256':
      return createPublicKey({
        key: { kty: 'EC', crv: 'P-256', x: facts.material.toString('base64url', 1, 33), y: facts.material.toString('base64url', 33, 65) },
        format: 'jwk',
      });
    case 'ed25519':
      return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: facts.material.toString('base64url') }, format: 'jwk' });
  }
}

/** The key type of a node KeyObject (public or private), or null for an unsupported one; RSA sizes are checked. */
export function keyTypeOf(key: KeyObject): { type: KeyType; bits: number } | { problem: string } {
  const kind = key.asymmetricKeyType;
  if (kind === 'rsa') {
    const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
    if (bits < RSA_BITS_RANGE.min || bits > RSA_BITS_RANGE.max) return { problem: `RSA key has ${bits} bits; ${RSA_BITS_RANGE.min} to ${RSA_BITS_RANGE.max} are accepted` };
    return { type: 'rsa', bits };
  }
  if (kind === 'ec') {
    const curve = key.asymmetricKeyDetails?.namedCurve;
    if (curve !== 'prime256v1' && curve !== 'P-256') return { problem: `ECDSA key is on ${curve ?? 'an unknown curve'}; only P-256 is accepted` };
    return { type: 'p256', bits: 256 };
  }
  if (kind === 'ed25519') return { type: 'ed25519', bits: 256 };
  return { problem: `${kind ?? 'unknown'} keys are not supported (accepted: RSA, ECDSA P-256, Ed25519)` };
}
