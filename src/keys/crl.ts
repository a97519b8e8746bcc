/**
 * Certificate revocation lists (`plugin.aes.ca_crl`): parsed with @peculiar/x509, their signature checked
 * synchronously with node:crypto against the CA's key (the provider decides on its message path, where nothing
 * may wait), so a CRL is trusted only when the configured CA signed it.
 */
import { verify, webcrypto, type KeyObject } from 'node:crypto';
import { createRequire } from 'node:module';
import type * as X509 from '@peculiar/x509';
import { InvalidArgumentError } from '../errors.js';
import { TAG, bitStringBytes, childrenOf, contentOf, encodingOf, expectTlv, normalizeHex } from './der.js';

const requireModule = createRequire(import.meta.url);
let x509Module: typeof X509 | undefined;

/**
 * @peculiar/x509 (its CommonJS build), loaded at the first CRL: the security provider imports this module, and a
 * daemon without ca_crl (or any tsco run) must not pay tens of milliseconds of start-up for it. Like src/keys/x509.ts,
 * it needs the Reflect polyfill first and node's WebCrypto as its provider.
 */
function peculiar(): typeof X509 {
  if (!x509Module) {
    requireModule('reflect-metadata');
    const loaded = requireModule('@peculiar/x509') as typeof X509;
    loaded.cryptoProvider.set(webcrypto as unknown as Parameters<typeof loaded.cryptoProvider.set>[0]);
    x509Module = loaded;
  }
  return x509Module;
}

/** A parsed CRL whose signature is not yet checked. */
export interface ParsedCrl {
  /** The issuer's distinguished name, as @peculiar/x509 prints it. */
  readonly issuer: string;
  readonly thisUpdate: Date;
  readonly nextUpdate: Date | undefined;
  /** Revoked serial numbers, lower-case hex without leading zeros. */
  readonly serials: ReadonlySet<string>;
  /** The signed part (TBSCertList, DER), the signature algorithm's OID (hex of its DER content), the signature. */
  readonly tbs: Uint8Array;
  readonly signatureOid: string;
  readonly signature: Uint8Array;
}

/** How far in the future a CRL's thisUpdate may lie (the issuing host's clock may run ahead a little). */
export const CRL_CLOCK_TOLERANCE_MS = 5 * 60_000;

/** Most revoked serial numbers a CRL may list (a bound on what a file can make the provider keep). */
export const MAX_CRL_ENTRIES = 1_000_000;

const SIGNATURE_ALGORITHMS: Readonly<Record<string, { hash: string | null; dsaEncoding?: 'der' }>> = {
  '2a864886f70d01010b': { hash: 'sha256' }, // sha256WithRSAEncryption
  '2a864886f70d01010c': { hash: 'sha384' },
  '2a864886f70d01010d': { hash: 'sha512' },
  '2a8648ce3d040302': { hash: 'sha256', dsaEncoding: 'der' }, // ecdsa-with-SHA256
  '2a8648ce3d040303': { hash: 'sha384', dsaEncoding: 'der' },
  '2a8648ce3d040304': { hash: 'sha512', dsaEncoding: 'der' },
  '2b6570': { hash: null }, // Ed25519
};

/** Parses a CRL (PEM `X509 CRL` or `CRL`, or DER). Throws InvalidArgumentError naming the problem. */
export function parseCrl(input: string | Uint8Array): ParsedCrl {
  const der = typeof input === 'string' ? pemToDer(input) : Buffer.from(input);
  const list = expectTlv(der, 0, TAG.sequence, 'CertificateList');
  if (list.end !== der.length) throw new InvalidArgumentError('CRL: trailing bytes after the CertificateList');
  const [tbs, algorithm, signature] = childrenOf(der, list, 3);
  if (!tbs || !algorithm || !signature || tbs.tag !== TAG.sequence || algorithm.tag !== TAG.sequence) throw new InvalidArgumentError('CRL: not a CertificateList');
  const [oid] = childrenOf(der, algorithm, 2);
  if (!oid || oid.tag !== TAG.oid) throw new InvalidArgumentError('CRL: the signature algorithm is not an OID');
  let crl: X509.X509Crl;
  try {
    crl = new (peculiar().X509Crl)(der);
  } catch (error) {
    throw new InvalidArgumentError(`CRL: cannot be parsed (${(error as Error).message})`, { cause: error });
  }
  const entries = crl.entries;
  if (entries.length > MAX_CRL_ENTRIES) throw new InvalidArgumentError(`CRL: more than ${MAX_CRL_ENTRIES} entries`);
  return {
    issuer: crl.issuer,
    thisUpdate: crl.thisUpdate,
    nextUpdate: crl.nextUpdate,
    serials: new Set(entries.map((entry) => normalizeHex(entry.serialNumber))),
    tbs: encodingOf(der, tbs),
    signatureOid: Buffer.from(contentOf(der, oid)).toString('hex'),
    signature: bitStringBytes(der, signature, 'CRL signature'),
  };
}

/**
 * Why `crl` cannot be trusted as the CA's (issuer, signature, thisUpdate), or null when it can. `caSubject` is
 * the CA's subject as @peculiar/x509 prints it; `caKey` its public key; `now` in milliseconds.
 */
export function crlProblem(crl: ParsedCrl, caSubject: string, caKey: KeyObject, now: number): string | null {
  if (crl.issuer !== caSubject) return `the CRL is issued by "${crl.issuer}", not by the CA "${caSubject}"`;
  const algorithm = SIGNATURE_ALGORITHMS[crl.signatureOid];
  if (!algorithm) return `the CRL is signed with an unsupported algorithm (OID bytes ${crl.signatureOid})`;
  let ok = false;
  try {
    ok = verify(algorithm.hash, crl.tbs, algorithm.dsaEncoding ? { key: caKey, dsaEncoding: algorithm.dsaEncoding } : caKey, crl.signature);
  } catch {
    ok = false;
  }
  if (!ok) return 'the CRL signature does not verify with the CA key';
  if (crl.thisUpdate.getTime() > now + CRL_CLOCK_TOLERANCE_MS) return `the CRL is dated ${crl.thisUpdate.toISOString()}, in the future`;
  return null;
}

/** The CA subject as @peculiar/x509 prints it (what `crlProblem` compares a CRL's issuer with). */
export function caSubjectOf(caPem: string): string {
  return new (peculiar().X509Certificate)(caPem).subject;
}

function pemToDer(text: string): Buffer {
  const match = /-----BEGIN (X509 CRL|CRL)-----([A-Za-z0-9+/=\s]*)-----END \1-----/.exec(text);
  if (!match) throw new InvalidArgumentError('CRL: no -----BEGIN X509 CRL----- block');
  return Buffer.from(match[2]!.replace(/\s+/g, ''), 'base64');
}
