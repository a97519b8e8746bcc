/**
 * The one place @peculiar/x509 is loaded: it needs a Reflect polyfill imported before it and a WebCrypto
 * provider (node's) set once. Other key modules import `x509` and the helpers from here.
 */
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { createPrivateKey, createPublicKey, webcrypto, type KeyObject } from 'node:crypto';
import { InvalidArgumentError } from '../errors.js';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

/** A WebCrypto key, as @peculiar/x509 consumes it. */
export type CryptoKey = webcrypto.CryptoKey;

export { x509 };

/** The signature algorithm of every certificate tscollective issues: RSA PKCS#1 v1.5 with SHA-256. */
export const RSA_SHA256 = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' } as const;

/** Minimum RSA modulus accepted for any key put in a certificate. */
export const MIN_CERT_RSA_BITS = 2048;

/** Parses a PEM private key (PKCS#1 or PKCS#8, unencrypted) and imports it for signing with WebCrypto. */
export async function importSigningKey(pem: string, argument: string): Promise<{ key: CryptoKey; object: KeyObject }> {
  let object: KeyObject;
  try {
    object = createPrivateKey({ key: pem, format: 'pem' });
  } catch (error) {
    throw new InvalidArgumentError(`${argument}: not an unencrypted PEM private key (${(error as Error).message})`, { cause: error });
  }
  checkRsa(object, argument);
  const der = object.export({ type: 'pkcs8', format: 'der' });
  const key = await webcrypto.subtle.importKey('pkcs8', der, RSA_SHA256, false, ['sign']);
  return { key: key as unknown as CryptoKey, object };
}

/** Parses a PEM public key (SPKI, PKCS#1, or the key of an X.509 certificate) and imports it for WebCrypto. */
export async function importPublicKey(pem: string, argument: string): Promise<{ key: CryptoKey; object: KeyObject }> {
  let object: KeyObject;
  try {
    object = createPublicKey({ key: pem, format: 'pem' });
  } catch (error) {
    throw new InvalidArgumentError(`${argument}: not a PEM public key or certificate (${(error as Error).message})`, { cause: error });
  }
  checkRsa(object, argument);
  const der = object.export({ type: 'spki', format: 'der' });
  const key = await webcrypto.subtle.importKey('spki', der, RSA_SHA256, true, ['verify']);
  return { key: key as unknown as CryptoKey, object };
}

function checkRsa(object: KeyObject, argument: string): void {
  if (object.asymmetricKeyType !== 'rsa') {
    throw new InvalidArgumentError(`${argument}: expected an RSA key, got ${object.asymmetricKeyType ?? 'an unknown key type'}`);
  }
  const bits = object.asymmetricKeyDetails?.modulusLength ?? 0;
  if (bits < MIN_CERT_RSA_BITS) {
    throw new InvalidArgumentError(`${argument}: RSA key of ${bits} bits is too weak (minimum ${MIN_CERT_RSA_BITS})`);
  }
}

/** A random positive serial number (16 bytes, hex), as RFC 5280 asks. */
export function randomSerialNumber(): string {
  const bytes = webcrypto.getRandomValues(new Uint8Array(16));
  bytes[0] = (bytes[0]! & 0x7f) | 0x01; // positive and no leading zero byte
  return Buffer.from(bytes).toString('hex');
}
