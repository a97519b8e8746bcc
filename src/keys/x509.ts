/**
 * The one place @peculiar/x509 is loaded: it needs a Reflect polyfill imported before it and a WebCrypto
 * provider (node's) set once. Other key modules import `x509` and the helpers from here.
 */
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { createPrivateKey, createPublicKey, webcrypto, type KeyObject } from 'node:crypto';
import { InvalidArgumentError } from '../errors.js';
import { keyTypeOf, type KeyType } from './key-types.js';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

/** A WebCrypto key, as @peculiar/x509 consumes it. */
export type CryptoKey = webcrypto.CryptoKey;

export { x509 };

/** The signature algorithm of RSA certificates tscollective issues: RSA PKCS#1 v1.5 with SHA-256. */
export const RSA_SHA256 = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' } as const;

/** The WebCrypto algorithm a CA key of each type signs certificates and CRLs with. */
export const CERTIFICATE_SIGNING: Readonly<Record<KeyType, webcrypto.AlgorithmIdentifier | webcrypto.EcdsaParams>> = Object.freeze({
  rsa: RSA_SHA256,
  p256: { name: 'ECDSA', hash: 'SHA-256' },
  ed25519: { name: 'Ed25519' },
});

/** The WebCrypto import parameters of each key type. */
const IMPORT: Readonly<Record<KeyType, webcrypto.AlgorithmIdentifier | webcrypto.EcKeyImportParams | webcrypto.RsaHashedImportParams>> = Object.freeze({
  rsa: RSA_SHA256,
  p256: { name: 'ECDSA', namedCurve: 'P-256' },
  ed25519: { name: 'Ed25519' },
});

/** Parses a PEM private key (PKCS#1, SEC1 or PKCS#8, unencrypted) of any supported type and imports it for signing. */
export async function importSigningKey(pem: string, argument: string): Promise<{ key: CryptoKey; object: KeyObject; type: KeyType }> {
  let object: KeyObject;
  try {
    object = createPrivateKey({ key: pem, format: 'pem' });
  } catch (error) {
    throw new InvalidArgumentError(`${argument}: not an unencrypted PEM private key (${(error as Error).message})`, { cause: error });
  }
  const type = supportedType(object, argument);
  const der = object.export({ type: 'pkcs8', format: 'der' });
  const key = await webcrypto.subtle.importKey('pkcs8', der, IMPORT[type], false, ['sign']);
  return { key: key as unknown as CryptoKey, object, type };
}

/** Parses a PEM public key (SPKI, PKCS#1, or the key of an X.509 certificate) of any supported type and imports it. */
export async function importPublicKey(pem: string, argument: string): Promise<{ key: CryptoKey; object: KeyObject; type: KeyType }> {
  let object: KeyObject;
  try {
    object = createPublicKey({ key: pem, format: 'pem' });
  } catch (error) {
    throw new InvalidArgumentError(`${argument}: not a PEM public key or certificate (${(error as Error).message})`, { cause: error });
  }
  const type = supportedType(object, argument);
  const der = object.export({ type: 'spki', format: 'der' });
  const key = await webcrypto.subtle.importKey('spki', der, IMPORT[type], true, ['verify']);
  return { key: key as unknown as CryptoKey, object, type };
}

function supportedType(object: KeyObject, argument: string): KeyType {
  const shape = keyTypeOf(object);
  if ('problem' in shape) throw new InvalidArgumentError(`${argument}: ${shape.problem}`);
  return shape.type;
}

/** A random positive serial number (16 bytes, hex), as RFC 5280 asks. */
export function randomSerialNumber(): string {
  const bytes = webcrypto.getRandomValues(new Uint8Array(16));
  bytes[0] = (bytes[0]! & 0x7f) | 0x01; // positive and no leading zero byte
  return Buffer.from(bytes).toString('hex');
}
