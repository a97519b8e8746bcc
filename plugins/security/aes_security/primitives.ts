/**
 * The cryptographic primitives of aes_security, all on node:crypto: AES-256-GCM, signatures by key type
 * (RSA-PSS-SHA256, ECDSA-P256-SHA256, Ed25519), RSA-OAEP-SHA256 key wrapping, X25519 agreement and HMAC-SHA256 key
 * derivation. Every input is checked where it
 * enters and errors name the argument. These functions sit on the per-message hot path: no needless copies.
 */
import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  privateDecrypt,
  publicEncrypt,
  randomFillSync,
  createSign,
  createVerify,
  hash,
  sign,
  verify,
  constants,
  type KeyObject,
} from 'node:crypto';
import { InvalidArgumentError } from '../../../src/errors.js';
import type { KeyType } from '../../../src/keys/key-types.js';

/** AES-256 key length in bytes. */
export const AES_KEY_BYTES = 32;
/** AES-GCM nonce length in bytes (the 96-bit size GCM is defined for). */
export const GCM_IV_BYTES = 12;
/** AES-GCM authentication tag length in bytes; it is appended to the ciphertext. */
export const GCM_TAG_BYTES = 16;
/** X25519 public key length in bytes. */
export const X25519_KEY_BYTES = 32;

function expectBytes(name: string, value: Uint8Array, length?: number): void {
  if (!(value instanceof Uint8Array)) throw new InvalidArgumentError(`"${name}" expected Uint8Array, got ${typeof value}`);
  if (length !== undefined && value.length !== length) {
    throw new InvalidArgumentError(`"${name}" expected ${length} bytes, got ${value.length}`);
  }
}

const RANDOM_POOL_BYTES = 4096;
let randomPool = Buffer.alloc(0);
let randomOffset = 0;

/**
 * Cryptographically secure random bytes. Small requests are served from a pool refilled by randomFillSync,
 * because a 12-byte randomBytes() call costs about as much as the AES-GCM encryption it feeds.
 */
export function randomBytesFast(length: number): Buffer {
  if (length > RANDOM_POOL_BYTES / 4) return randomFillSync(Buffer.allocUnsafe(length));
  if (randomOffset + length > randomPool.length) {
    randomPool = randomFillSync(Buffer.allocUnsafe(RANDOM_POOL_BYTES));
    randomOffset = 0;
  }
  const out = Buffer.from(randomPool.subarray(randomOffset, randomOffset + length));
  // Consumed bytes are wiped so a later heap disclosure cannot recover nonces or keys handed out earlier.
  randomPool.fill(0, randomOffset, randomOffset + length);
  randomOffset += length;
  return out;
}

/** AES-256-GCM encryption; returns ciphertext with the 16-byte tag appended. `aad` is authenticated, not encrypted. */
export function aeadEncrypt(key: Uint8Array, iv: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Buffer {
  expectBytes('aes key', key, AES_KEY_BYTES);
  expectBytes('gcm iv', iv, GCM_IV_BYTES);
  expectBytes('plaintext', plaintext);
  expectBytes('aad', aad);
  const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: GCM_TAG_BYTES });
  cipher.setAAD(aad);
  const head = cipher.update(plaintext);
  const tail = cipher.final();
  const tag = cipher.getAuthTag();
  return Buffer.concat([head, tail, tag], head.length + tail.length + tag.length);
}

/**
 * AES-256-GCM decryption of `ciphertext` (tag appended). Returns null when authentication fails, so callers
 * choose the error class that names what the failure means in their context.
 */
export function aeadDecrypt(key: Uint8Array, iv: Uint8Array, ciphertext: Uint8Array, aad: Uint8Array): Buffer | null {
  expectBytes('aes key', key, AES_KEY_BYTES);
  expectBytes('gcm iv', iv, GCM_IV_BYTES);
  expectBytes('ciphertext', ciphertext);
  expectBytes('aad', aad);
  if (ciphertext.length < GCM_TAG_BYTES) return null;
  const split = ciphertext.length - GCM_TAG_BYTES;
  const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: GCM_TAG_BYTES });
  decipher.setAAD(aad);
  decipher.setAuthTag(ciphertext.subarray(split));
  const head = decipher.update(ciphertext.subarray(0, split));
  try {
    const tail = decipher.final();
    return tail.length === 0 ? head : Buffer.concat([head, tail]);
  } catch {
    return null;
  }
}

/** HMAC-SHA256(key, ...parts): the key derivation step (HKDF-Expand with one block and a domain label in `parts`). */
export function hmacSha256(key: Uint8Array, ...parts: Uint8Array[]): Buffer {
  const mac = createHmac('sha256', key);
  for (const part of parts) mac.update(part);
  return mac.digest();
}

const COUNTER_ONE = Buffer.from([0, 0, 0, 1]);

/**
 * The one-step key derivation of NIST SP 800-56C rev. 2 with SHA-256, for one 32-byte key:
 * SHA-256(counter=1 || Z || fixedInfo...). Used on shared secrets (X25519 outputs); `fixedInfo` starts with a
 * domain label and binds both public keys.
 */
export function oneStepKdf(sharedSecret: Uint8Array, ...fixedInfo: Uint8Array[]): Buffer {
  return hash('sha256', Buffer.concat([COUNTER_ONE, sharedSecret, ...fixedInfo]), 'buffer') as unknown as Buffer;
}

/** SHA-256 digest. */
export function sha256(data: Uint8Array): Buffer {
  return createHash('sha256').update(data).digest();
}

const PSS = { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 } as const;

/** Inputs up to this size are concatenated and signed in one call; larger ones are streamed to avoid the copy. */
const ONE_SHOT_LIMIT = 16 * 1024;

function totalLength(parts: readonly Uint8Array[]): number {
  let total = 0;
  for (const part of parts) total += part.length;
  return total;
}

/** RSA-PSS-SHA256 signature (32-byte salt) over the concatenation of `parts`. */
export function rsaPssSign(privateKey: KeyObject, parts: readonly Uint8Array[]): Buffer {
  if (totalLength(parts) <= ONE_SHOT_LIMIT) return sign('sha256', Buffer.concat(parts), { key: privateKey, ...PSS });
  const signer = createSign('sha256');
  for (const part of parts) signer.update(part);
  return signer.sign({ key: privateKey, ...PSS });
}

/** Verifies an RSA-PSS-SHA256 signature; false for a wrong key, wrong data or a malformed signature. */
export function rsaPssVerify(publicKey: KeyObject, parts: readonly Uint8Array[], signature: Uint8Array): boolean {
  try {
    if (totalLength(parts) <= ONE_SHOT_LIMIT) return verify('sha256', Buffer.concat(parts), { key: publicKey, ...PSS }, signature);
    const verifier = createVerify('sha256');
    for (const part of parts) verifier.update(part);
    return verifier.verify({ key: publicKey, ...PSS }, signature);
  } catch {
    return false;
  }
}

/** ECDSA signatures are the fixed-size r || s (IEEE P1363, 64 bytes for P-256), not DER: one length, nothing to parse. */
const ECDSA = { dsaEncoding: 'ieee-p1363' } as const;

/**
 * Signs the concatenation of `parts` with the scheme of the key's type: RSA-PSS-SHA256 (32-byte salt),
 * ECDSA-P256-SHA256 (r || s) or Ed25519. The scheme follows the key, so a message never names its algorithm.
 */
export function signParts(type: KeyType, privateKey: KeyObject, parts: readonly Uint8Array[]): Buffer {
  switch (type) {
    case 'rsa':
      return rsaPssSign(privateKey, parts);
    case 'p256':
      if (totalLength(parts) <= ONE_SHOT_LIMIT) return sign('sha256', Buffer.concat(parts), { key: privateKey, ...ECDSA });
      return streamSigner(parts).sign({ key: privateKey, ...ECDSA });
    case 'ed25519':
      // Ed25519 signs the whole message in one pass (no streaming interface): the parts are joined once.
      return sign(null, Buffer.concat(parts), privateKey);
  }
}

/** Verifies a signature made by signParts with the public key of the same type; false for any mismatch. */
export function verifyParts(type: KeyType, publicKey: KeyObject, parts: readonly Uint8Array[], signature: Uint8Array): boolean {
  try {
    switch (type) {
      case 'rsa':
        return rsaPssVerify(publicKey, parts, signature);
      case 'p256':
        if (signature.length !== 64) return false;
        if (totalLength(parts) <= ONE_SHOT_LIMIT) return verify('sha256', Buffer.concat(parts), { key: publicKey, ...ECDSA }, signature);
        return streamVerifier(parts).verify({ key: publicKey, ...ECDSA }, signature);
      case 'ed25519':
        return signature.length === 64 && verify(null, Buffer.concat(parts), publicKey, signature);
    }
  } catch {
    return false;
  }
}

function streamSigner(parts: readonly Uint8Array[]) {
  const signer = createSign('sha256');
  for (const part of parts) signer.update(part);
  return signer;
}

function streamVerifier(parts: readonly Uint8Array[]) {
  const verifier = createVerify('sha256');
  for (const part of parts) verifier.update(part);
  return verifier;
}

/** Wraps a symmetric key to an RSA public key with OAEP (SHA-256, MGF1-SHA-256). */
export function rsaOaepWrap(publicKey: KeyObject, key: Uint8Array): Buffer {
  expectBytes('aes key', key, AES_KEY_BYTES);
  return publicEncrypt({ key: publicKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, key);
}

/** Unwraps an OAEP-wrapped key; null when it was not wrapped to this private key or is damaged. */
export function rsaOaepUnwrap(privateKey: KeyObject, wrapped: Uint8Array): Buffer | null {
  try {
    const key = privateDecrypt({ key: privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, wrapped);
    return key.length === AES_KEY_BYTES ? key : null;
  } catch {
    return null;
  }
}

/** A fresh X25519 key pair: the private KeyObject and the raw 32-byte public key. */
export function x25519Generate(): { privateKey: KeyObject; publicKey: Buffer } {
  const pair = generateKeyPairSync('x25519');
  const jwk = pair.publicKey.export({ format: 'jwk' });
  return { privateKey: pair.privateKey, publicKey: Buffer.from(jwk.x as string, 'base64url') };
}

/**
 * X25519 shared secret between our private key and a peer's raw public key. Imported through JWK because
 * node's DER import of the same 32 bytes costs about ten times as much. Null for an invalid peer key
 * (including the all-zero shared secret of low-order points, which OpenSSL refuses).
 */
export function x25519Agree(privateKey: KeyObject, peerPublicKey: Uint8Array): Buffer | null {
  expectBytes('x25519 public key', peerPublicKey, X25519_KEY_BYTES);
  try {
    const peer = createPublicKey({
      key: { kty: 'OKP', crv: 'X25519', x: Buffer.from(peerPublicKey.buffer, peerPublicKey.byteOffset, peerPublicKey.length).toString('base64url') },
      format: 'jwk',
    });
    return diffieHellman({ privateKey, publicKey: peer });
  } catch {
    return null;
  }
}
