/**
 * Reading key material for tooling: certificate details, SPKI fingerprints, and a full certificate check
 * against a CA (signature, validity period, CA constraints). The security provider does its own, synchronous
 * check on the message path; this one explains failures for humans (`tsco keys list`).
 */
import { X509Certificate, createHash, type KeyObject } from 'node:crypto';
import { InvalidArgumentError } from '../errors.js';
import { readKeyBlocks, type KeyFileBlock } from './key-file.js';
import type { KeyType } from './key-types.js';
import { x509 } from './x509.js';

/** What certificateInfo reports about a certificate. */
export interface CertificateInfo {
  /** The subject DN, one RDN per line as node prints it (for example `CN=alice`). */
  subject: string;
  issuer: string;
  /** The subject's common name, or null when it has none. */
  cn: string | null;
  notBefore: Date;
  notAfter: Date;
  /** SHA-256 of the DER SubjectPublicKeyInfo, lower-case hex. */
  fingerprint: string;
}

/** What publicKeyInfo reports about one key of a public key file. */
export interface PublicKeyInfo {
  kind: 'certificate' | 'public-key';
  /** SHA-256 of the DER SubjectPublicKeyInfo, lower-case hex (same value for a key and its certificate). */
  fingerprint: string;
  /** Key id: the first 32 hex characters of the fingerprint. */
  kid: string;
  /** RSA modulus size; 256 for P-256 and Ed25519. */
  bits: number;
  keyType: KeyType;
  /** Certificate serial number (lower-case hex, no leading zeros). */
  serial?: string;
  certificate?: CertificateInfo;
}

/** The outcome of verifyCertificate. */
export type CertificateVerdict = { ok: true } | { ok: false; reason: string };

/** SHA-256 of a public key's DER SPKI encoding, lower-case hex. */
export function spkiFingerprint(key: KeyObject): string {
  return createHash('sha256').update(key.export({ type: 'spki', format: 'der' })).digest('hex');
}

/** Details of a PEM certificate; throws InvalidArgumentError when `pem` is not one. */
export function certificateInfo(pem: string): CertificateInfo {
  const cert = parseNodeCertificate(pem, 'pem');
  return {
    subject: cert.subject,
    issuer: cert.issuer,
    cn: commonName(cert.subject),
    notBefore: new Date(cert.validFrom),
    notAfter: new Date(cert.validTo),
    fingerprint: spkiFingerprint(cert.publicKey),
  };
}

/** Details of the first key of a PEM public key file; throws InvalidArgumentError when it holds none. */
export function publicKeyInfo(pem: string): PublicKeyInfo {
  return publicKeyInfos(pem)[0]!;
}

/** Details of every key of a PEM public key file, in file order; throws InvalidArgumentError naming the problem. */
export function publicKeyInfos(pem: string): PublicKeyInfo[] {
  if (typeof pem !== 'string') throw new InvalidArgumentError('pem: PEM text is required');
  let blocks: KeyFileBlock[];
  try {
    blocks = readKeyBlocks(pem, 'pem');
  } catch (error) {
    throw new InvalidArgumentError(`pem: not a PEM public key or certificate (${(error as Error).message.replace(/^pem: /, '')})`, { cause: error });
  }
  return blocks.map((block) => {
    const info: PublicKeyInfo = {
      kind: block.block.label === 'CERTIFICATE' ? 'certificate' : 'public-key',
      fingerprint: block.fingerprint,
      kid: block.kid,
      bits: block.bits,
      keyType: block.type,
    };
    if (block.serial !== undefined) {
      info.serial = block.serial;
      info.certificate = certificateInfo(block.block.text);
    }
    return info;
  });
}

/**
 * Checks that `certPem` was issued by `caCertPem`: the CA is a CA allowed to sign certificates, the issuer
 * name matches, the signature verifies, and both certificates are valid at `options.at` (now by default).
 * Never throws for bad certificates: the verdict carries the reason.
 */
export async function verifyCertificate(certPem: string, caCertPem: string, options: { at?: Date } = {}): Promise<CertificateVerdict> {
  const at = options.at ?? new Date();
  if (!(at instanceof Date) || Number.isNaN(at.getTime())) throw new InvalidArgumentError('options.at: not a valid Date');
  let cert: x509.X509Certificate;
  let ca: x509.X509Certificate;
  try {
    cert = new x509.X509Certificate(certPem);
  } catch (error) {
    return { ok: false, reason: `certificate: not a PEM X.509 certificate (${(error as Error).message})` };
  }
  try {
    ca = new x509.X509Certificate(caCertPem);
  } catch (error) {
    return { ok: false, reason: `CA certificate: not a PEM X.509 certificate (${(error as Error).message})` };
  }

  const constraints = ca.getExtension(x509.BasicConstraintsExtension);
  if (!constraints?.ca) return { ok: false, reason: `CA certificate ${ca.subject} is not a CA (basicConstraints CA:FALSE or absent)` };
  const usages = ca.getExtension(x509.KeyUsagesExtension);
  if (usages && (usages.usages & x509.KeyUsageFlags.keyCertSign) === 0) {
    return { ok: false, reason: `CA certificate ${ca.subject} may not sign certificates (keyUsage lacks keyCertSign)` };
  }
  if (cert.issuer !== ca.subject) return { ok: false, reason: `certificate issuer "${cert.issuer}" is not the CA "${ca.subject}"` };

  let signatureOk = false;
  try {
    signatureOk = await cert.verify({ publicKey: ca, signatureOnly: true });
  } catch (error) {
    return { ok: false, reason: `signature could not be checked (${(error as Error).message})` };
  }
  if (!signatureOk) return { ok: false, reason: `signature does not verify with the key of CA "${ca.subject}"` };

  for (const [what, c] of [['certificate', cert], ['CA certificate', ca]] as const) {
    if (at < c.notBefore) return { ok: false, reason: `${what} "${c.subject}" is not valid before ${c.notBefore.toISOString()}` };
    if (at > c.notAfter) return { ok: false, reason: `${what} "${c.subject}" expired at ${c.notAfter.toISOString()}` };
  }
  return { ok: true };
}

function parseNodeCertificate(pem: string, argument: string): X509Certificate {
  if (typeof pem !== 'string' || pem.trim() === '') throw new InvalidArgumentError(`${argument}: PEM text is required`);
  try {
    return new X509Certificate(pem);
  } catch (error) {
    throw new InvalidArgumentError(`${argument}: not a PEM X.509 certificate (${(error as Error).message})`, { cause: error });
  }
}

function commonName(dn: string): string | null {
  // node prints one RDN per line ("C=GB\nCN=alice"); the last CN wins, as OpenSSL's lookup does.
  const values = dn.split('\n').filter((line) => line.startsWith('CN=')).map((line) => line.slice(3));
  return values.length > 0 ? values[values.length - 1]! : null;
}
