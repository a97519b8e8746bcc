/**
 * What `npm run bench` measures with: key pairs of each type on disk, client and server providers over them, and the
 * raw node:crypto operations the floors are made of (AES-GCM, X25519, and the signature scheme of each key type).
 */
import {
  constants, createCipheriv, createDecipheriv, createPublicKey, diffieHellman, generateKeyPairSync, randomBytes, sign, verify, type KeyObject,
} from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { configFromObject } from '../src/config/index.js';
import type { KeyType } from '../src/keys/index.js';
import '../plugins/security/aes_security/index.js';
import { AesSecurityProvider } from '../plugins/security/aes_security/provider.js';
import { MemoryCounters } from '../src/util/counters.js';
import { CapturingLogger } from '../src/util/log.js';

/** A key variant measured: a key type, and RSA at both ends of its size range. */
export type Variant = 'rsa2048' | 'rsa4096' | 'p256' | 'ed25519';

/** The key type of a variant. */
export const typeOf = (variant: Variant): KeyType => (variant.startsWith('rsa') ? 'rsa' : variant as KeyType);

/** A key pair on disk. */
export interface KeyFiles {
  privateKey: KeyObject;
  publicKey: KeyObject;
  privatePath: string;
  publicPath: string;
}

/** The providers of one variant: a client (rsa replies when its key is RSA, else none) and ephemeral, and a server. */
export interface Fixture {
  variant: Variant;
  type: KeyType;
  alice: KeyFiles;
  server: KeyFiles;
  clients: { rsa?: AesSecurityProvider; ephemeral: AesSecurityProvider };
  serverSettings: Record<string, string | number>;
  receiver: AesSecurityProvider;
  provider(role: 'client' | 'server', settings: Record<string, string | number>): AesSecurityProvider;
}

const KEYGEN: Record<Variant, () => { privateKey: KeyObject; publicKey: KeyObject }> = {
  rsa2048: () => generateKeyPairSync('rsa', { modulusLength: 2048 }),
  rsa4096: () => generateKeyPairSync('rsa', { modulusLength: 4096 }),
  p256: () => generateKeyPairSync('ec', { namedCurve: 'P-256' }),
  ed25519: () => generateKeyPairSync('ed25519'),
};

let states = 0;

/** Builds the fixture of `variant` in `dir`. */
export function fixture(root: string, variant: Variant): Fixture {
  // One directory per variant: every variant's keys are named alice and server1, so replies answer as the key's own name.
  const dir = join(root, variant);
  const certs = join(dir, 'certs');
  mkdirSync(certs, { recursive: true });
  const writePair = (name: string): KeyFiles => {
    const { privateKey, publicKey } = KEYGEN[variant]();
    const privatePath = join(dir, `${name}-private.pem`);
    const publicPath = join(dir, `${name}.pem`);
    writeFileSync(privatePath, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    writeFileSync(publicPath, publicKey.export({ type: 'spki', format: 'pem' }));
    writeFileSync(join(certs, `${name}.pem`), publicKey.export({ type: 'spki', format: 'pem' }));
    return { privateKey, publicKey, privatePath, publicPath };
  };
  const alice = writePair('alice');
  const server = writePair('server1');
  const provider = (role: 'client' | 'server', settings: Record<string, string | number>): AesSecurityProvider => {
    // Each server gets a state directory (replay journal) of its own: a fresh receiver must not remember the last one's requests.
    const top: Record<string, string> = role === 'server' ? { statedir: join(dir, `state-${++states}`) } : {};
    const config = configFromObject({ ...top, ...Object.fromEntries(Object.entries(settings).map(([k, v]) => [`plugin.aes.${k}`, v])) }, { source: 'bench' });
    return new AesSecurityProvider({ config, role, logger: new CapturingLogger(), counters: new MemoryCounters() });
  };
  const clientSettings = { client_private: alice.privatePath, client_public: alice.publicPath, server_cert_dir: certs };
  const type = typeOf(variant);
  const clients = {
    ...(type === 'rsa' ? { rsa: provider('client', clientSettings) } : {}),
    ephemeral: provider('client', { ...clientSettings, reply_encryption: 'ephemeral' }),
  };
  const serverSettings = { server_private: server.privatePath, server_public: server.publicPath, client_cert_dir: certs, replay_cache_size: 10_000_000 };
  return { variant, type, alice, server, clients, serverSettings, receiver: provider('server', serverSettings), provider };
}

const PSS = { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 };
/** RSA-OAEP with SHA-256, as rsa replies wrap their key. */
export const OAEP = { padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' };

/** The raw signature of `type` (the floor of a signing step). */
export function rawSign(type: KeyType, key: KeyObject, data: Uint8Array): Buffer {
  if (type === 'rsa') return sign('sha256', data, { key, ...PSS });
  if (type === 'p256') return sign('sha256', data, { key, dsaEncoding: 'ieee-p1363' });
  return sign(null, data, key);
}

/** The raw verification of `type` (the floor of a verifying step). */
export function rawVerify(type: KeyType, key: KeyObject, data: Uint8Array, signature: Uint8Array): boolean {
  if (type === 'rsa') return verify('sha256', data, { key, ...PSS }, signature);
  if (type === 'p256') return verify('sha256', data, { key, dsaEncoding: 'ieee-p1363' }, signature);
  return verify(null, data, key, signature);
}

/** AES-256-GCM decryption with the tag appended. */
export function gcmOpen(key: Uint8Array, iv: Uint8Array, sealed: Uint8Array, aad: Uint8Array): Buffer {
  const decipher = createDecipheriv('aes-256-gcm', key, iv);
  decipher.setAAD(aad);
  decipher.setAuthTag(sealed.subarray(sealed.length - 16));
  return Buffer.concat([decipher.update(sealed.subarray(0, sealed.length - 16)), decipher.final()]);
}

/** AES-256-GCM encryption (result discarded). */
export function gcmSeal(key: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): void {
  const cipher = createCipheriv('aes-256-gcm', key, randomBytes(12));
  cipher.setAAD(aad);
  Buffer.concat([cipher.update(plaintext), cipher.final()]);
  cipher.getAuthTag();
}

/** X25519 agreement with a raw peer key, imported as the provider does (JWK). */
export function x25519Agree(privateKey: KeyObject, raw: Uint8Array): Buffer {
  return diffieHellman({ privateKey, publicKey: createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: Buffer.from(raw).toString('base64url') }, format: 'jwk' }) });
}
