/**
 * The cryptography of protocol version 1 (MCollective 2.x `aes_security`, ssl.rb), on node:crypto:
 * - a random 32-byte pass; AES-256-CBC (PKCS#7 padding, no MAC) under key and IV from EVP_BytesToKey(pass);
 * - the pass RSA PKCS#1 v1.5 private-encrypted (type 1) with the client's key for requests, public-decrypted by
 *   servers; public-encrypted (type 2) to the caller for replies, private-decrypted by the client;
 * - base64 as Ruby's Base64.encode64 writes it: 60 characters a line, every line ending in "\n".
 *
 * Node 20 refuses PKCS#1 v1.5 private decryption (CVE-2023-46809, the Marvin attack). A client needs it to open
 * version 1 replies, so {@link unwrapReplyPass} does it here, and only here: raw RSA (RSA_NO_PADDING, OpenSSL's
 * blinding still applies), then a check of the padding in constant time, and on any failure an *implicit rejection*
 * pass derived from the ciphertext and a per-process secret, so a bad key block takes the same path and fails at the
 * same later point (AES padding or deserialization) as a good key block with a damaged body.
 * Residual risk, documented in docs/protocol.md (8.5): the result of the AES step is still observable (the reply is
 * dropped or not), so someone who can make this client decrypt many chosen replies could mount a Bleichenbacher-style
 * search. Mitigations: only replies answering one of the client's own outstanding requests are decrypted at all;
 * every failure is the same error; a client sends nothing back about a reply, so an oracle is at most a log line.
 */
import {
  constants, createCipheriv, createDecipheriv, createHmac, privateDecrypt, privateEncrypt, publicDecrypt, publicEncrypt,
  randomBytes, type KeyObject,
} from 'node:crypto';
import { BadSignatureError, MalformedMessageError } from '../../../../src/errors.js';
import { evpBytesToKey } from './evp.js';

/** Length of the random AES pass (OpenSSL's random_key for aes-256-cbc). */
export const PASS_BYTES = 32;

/** A fresh random pass. */
export function randomPass(): Buffer {
  return randomBytes(PASS_BYTES);
}

/** AES-256-CBC encryption of `plaintext` under the key and IV derived from `pass`. */
export function aesEncrypt(pass: Uint8Array, plaintext: Uint8Array): Buffer {
  const { key, iv } = evpBytesToKey(pass);
  const cipher = createCipheriv('aes-256-cbc', key, iv);
  return Buffer.concat([cipher.update(plaintext), cipher.final()]);
}

/** AES-256-CBC decryption; null when the length or the PKCS#7 padding is wrong (wrong pass or a damaged body). */
export function aesDecrypt(pass: Uint8Array, ciphertext: Uint8Array): Buffer | null {
  if (ciphertext.length === 0 || ciphertext.length % 16 !== 0) return null;
  const { key, iv } = evpBytesToKey(pass);
  const decipher = createDecipheriv('aes-256-cbc', key, iv);
  try {
    return Buffer.concat([decipher.update(ciphertext), decipher.final()]);
  } catch {
    return null;
  }
}

/** Ruby's Base64.encode64: standard alphabet, a newline after every 60 characters and at the end. */
export function encode64(data: Uint8Array): string {
  const flat = Buffer.from(data.buffer, data.byteOffset, data.length).toString('base64');
  let out = '';
  for (let i = 0; i < flat.length; i += 60) out += `${flat.slice(i, i + 60)}\n`;
  return out;
}

/**
 * Decodes base64 as MCollective accepts it (only `A-Z a-z 0-9 + / =` and whitespace), but strictly: the length must
 * be whole 4-character groups and `=` may only end it. `what` names the field in the error.
 */
export function decode64(text: string, what: string): Buffer {
  if (!/^[A-Za-z0-9+/=\s]*$/.test(text)) throw new MalformedMessageError(`${what} is not base64 (a character outside A-Z a-z 0-9 + / =)`);
  const compact = text.replace(/\s+/g, '');
  if (compact.length === 0 || compact.length % 4 !== 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(compact)) {
    throw new MalformedMessageError(`${what} is not valid base64 (${compact.length} characters, truncated or misplaced padding)`);
  }
  return Buffer.from(compact, 'base64');
}

/** Bytes of an RSA key's modulus. */
export function modulusBytes(key: KeyObject): number {
  const bits = key.asymmetricKeyDetails?.modulusLength;
  if (key.asymmetricKeyType !== 'rsa' || bits === undefined) throw new MalformedMessageError('version 1 needs an RSA key');
  return Math.ceil(bits / 8);
}

/** Request side: the pass RSA-encrypted with the client's private key (PKCS#1 v1.5 type 1), as Ruby's private_encrypt. */
export function wrapRequestPass(privateKey: KeyObject, pass: Uint8Array): Buffer {
  return privateEncrypt({ key: privateKey, padding: constants.RSA_PKCS1_PADDING }, pass);
}

/**
 * Server side: recovers a request's pass with the caller's public key. A key block that does not open with it (made
 * with another key, or damaged) is BadSignatureError: in version 1 this is the only proof of who sent a request.
 */
export function unwrapRequestPass(publicKey: KeyObject, wrapped: Uint8Array, caller: string): Buffer {
  if (wrapped.length !== modulusBytes(publicKey)) {
    throw new BadSignatureError(`sslkey is ${wrapped.length} bytes, ${caller}'s key is ${modulusBytes(publicKey)}: not made with that key`);
  }
  let pass: Buffer;
  try {
    pass = publicDecrypt({ key: publicKey, padding: constants.RSA_PKCS1_PADDING }, wrapped);
  } catch {
    throw new BadSignatureError(`sslkey does not open with ${caller}'s public key: not sent by ${caller}, or altered`);
  }
  if (pass.length !== PASS_BYTES) throw new BadSignatureError(`sslkey of ${caller} holds ${pass.length} bytes, not a ${PASS_BYTES}-byte pass`);
  return pass;
}

/** Server side: the reply's pass RSA-encrypted to the caller's public key (PKCS#1 v1.5 type 2), as Ruby's public_encrypt. */
export function wrapReplyPass(publicKey: KeyObject, pass: Uint8Array): Buffer {
  return publicEncrypt({ key: publicKey, padding: constants.RSA_PKCS1_PADDING }, pass);
}

/** Per-process secret for implicit rejection: never leaves memory, differs on every start. */
const REJECTION_SECRET = randomBytes(32);

/**
 * Client side: recovers a reply's pass with the client's private key. Raw RSA, then PKCS#1 v1.5 type 2 unpadding
 * in constant time for the one length a pass has: `00 02 PS 00 pass`, PS at least 8 non-zero bytes. Never throws
 * for bad padding: it returns a pass derived from the ciphertext instead (implicit rejection), which makes the
 * AES step fail like any other damaged reply. Throws MalformedMessageError only for a key block of the wrong length
 * (public information).
 */
export function unwrapReplyPass(privateKey: KeyObject, wrapped: Uint8Array): Buffer {
  const k = modulusBytes(privateKey);
  if (wrapped.length !== k) throw new MalformedMessageError(`sslkey is ${wrapped.length} bytes, our key needs ${k}`);
  let em: Buffer;
  try {
    em = privateDecrypt({ key: privateKey, padding: constants.RSA_NO_PADDING }, wrapped);
  } catch {
    // Only a ciphertext numerically >= the modulus gets here: public information, same outcome as bad padding.
    em = Buffer.alloc(k);
  }
  const separator = k - PASS_BYTES - 1;
  // bad accumulates, without branching on secret bytes, every way the block is not `00 02 nonzero{separator-2} 00`.
  let bad = em[0]! | (em[1]! ^ 0x02) | em[separator]!;
  for (let i = 2; i < separator; i++) bad |= ((em[i]! - 1) >> 8) & 1;
  const good = ((bad - 1) >> 8) & 1;
  const fallback = createHmac('sha256', REJECTION_SECRET).update(wrapped).digest();
  const pass = Buffer.allocUnsafe(PASS_BYTES);
  const keep = -good & 0xff;
  for (let i = 0; i < PASS_BYTES; i++) pass[i] = (em[separator + 1 + i]! & keep) | (fallback[i]! & ~keep);
  em.fill(0);
  return pass;
}
