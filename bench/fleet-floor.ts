/**
 * The floor of the fleet bench: the raw node:crypto work one reply needs at the client, measured in the client
 * process of the same run. Ephemeral replies: an X25519 agreement (the server's ephemeral public key, 32 raw bytes,
 * against the request's ephemeral private key), the one-step KDF (SHA-256), an AES-256-GCM open and an RSA-PSS
 * (SHA-256) verify of the signed header and ciphertext with the server's pre-parsed 2048-bit key. RSA replies: an
 * RSA-OAEP (SHA-256) unwrap of the reply key with the client's private key, the AES-GCM open and the verify. Every
 * reply has its own key material, ciphertext and signature (re-verifying one message would flatter the floor);
 * sizes are those of an rpcutil#ping reply.
 */
import {
  constants, createCipheriv, createDecipheriv, createHash, createPrivateKey, createPublicKey, diffieHellman, generateKeyPairSync,
  privateDecrypt, publicEncrypt, randomBytes, sign, verify, type KeyObject,
} from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { FleetPair } from './fleet-keys.js';
import type { ReplyMode } from './fleet-spec.js';

/** Bytes of an rpcutil#ping reply: its serialized body, and the signed header plus ciphertext. */
const PLAINTEXT_BYTES = 64;
const SIGNED_BYTES = 420;
/** Distinct signing keys the floor's signatures are made with (verifying costs the same whichever key signed). */
const SIGNERS = 16;

const PSS = { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 };
const OAEP = { padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' };

interface FloorReply {
  epk: Buffer;
  wrapped: Buffer;
  key: Buffer;
  iv: Buffer;
  sealed: Buffer;
  aad: Buffer;
  signed: Buffer;
  signature: Buffer;
  signer: KeyObject;
}

function seal(key: Buffer, iv: Buffer, aad: Buffer): Buffer {
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(aad);
  return Buffer.concat([cipher.update(randomBytes(PLAINTEXT_BYTES)), cipher.final(), cipher.getAuthTag()]);
}

function open(key: Buffer, iv: Buffer, sealed: Buffer, aad: Buffer): Buffer {
  const decipher = createDecipheriv('aes-256-gcm', key, iv);
  decipher.setAAD(aad);
  decipher.setAuthTag(sealed.subarray(sealed.length - 16));
  return Buffer.concat([decipher.update(sealed.subarray(0, sealed.length - 16)), decipher.final()]);
}

/** `count` distinct replies' material, signed by the first SIGNERS of `nodes` and wrapped to the client's key. */
function prepare(count: number, nodes: readonly FleetPair[], client: FleetPair): FloorReply[] {
  const signers = nodes.slice(0, SIGNERS).map((node) => ({
    privateKey: createPrivateKey(readFileSync(node.privatePath)), publicKey: createPublicKey(readFileSync(node.publicPath)),
  }));
  const clientPublic = createPublicKey(readFileSync(client.publicPath));
  return Array.from({ length: count }, (_, index) => {
    const signer = signers[index % signers.length]!;
    const key = randomBytes(32);
    const iv = randomBytes(12);
    const aad = randomBytes(SIGNED_BYTES - PLAINTEXT_BYTES - 16);
    const sealed = seal(key, iv, aad);
    const signed = Buffer.concat([aad, sealed]);
    const epk = generateKeyPairSync('x25519').publicKey.export({ format: 'jwk' }).x!;
    return {
      epk: Buffer.from(epk, 'base64url'), wrapped: publicEncrypt({ key: clientPublic, ...OAEP }, key), key, iv, sealed, aad, signed,
      signature: sign('sha256', signed, { key: signer.privateKey, ...PSS }), signer: signer.publicKey,
    };
  });
}

/** The floor's work for one reply. */
function floorOf(mode: ReplyMode, reply: FloorReply, ephemeral: KeyObject, ephemeralRaw: Buffer, clientPrivate: KeyObject): void {
  let key: Buffer;
  if (mode === 'ephemeral') {
    const shared = diffieHellman({ privateKey: ephemeral, publicKey: createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: reply.epk.toString('base64url') }, format: 'jwk' }) });
    // The one-step KDF's cost (its exact inputs do not matter); the GCM open below uses the reply's real key.
    createHash('sha256').update(Buffer.from([0, 0, 0, 1])).update(shared).update(reply.epk).update(ephemeralRaw).digest();
    key = reply.key;
  } else {
    key = privateDecrypt({ key: clientPrivate, ...OAEP }, reply.wrapped);
  }
  open(key, reply.iv, reply.sealed, reply.aad);
  if (!verify('sha256', reply.signed, { key: reply.signer, ...PSS }, reply.signature)) throw new Error('floor: a signature does not verify');
}

/**
 * CPU ms per reply of the floor for `count` replies (at least 200): the best of three passes over distinct replies,
 * since noise from other work on the machine only ever slows a pass down.
 */
export function measureFloor(mode: ReplyMode, count: number, nodes: readonly FleetPair[], client: FleetPair): number {
  const replies = prepare(Math.max(200, Math.min(count, 2000)), nodes, client);
  const clientPrivate = createPrivateKey(readFileSync(client.privatePath));
  const pair = generateKeyPairSync('x25519');
  const ephemeralRaw = Buffer.from(pair.publicKey.export({ format: 'jwk' }).x!, 'base64url');
  for (const reply of replies.slice(0, 20)) floorOf(mode, reply, pair.privateKey, ephemeralRaw, clientPrivate);
  let best = Number.POSITIVE_INFINITY;
  for (let pass = 0; pass < 3; pass++) {
    const before = process.cpuUsage();
    for (const reply of replies) floorOf(mode, reply, pair.privateKey, ephemeralRaw, clientPrivate);
    const used = process.cpuUsage(before);
    best = Math.min(best, (used.user + used.system) / 1000 / replies.length);
  }
  return best;
}
