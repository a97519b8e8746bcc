/**
 * Reading key material for tooling: certificate details, SPKI fingerprints, and a full certificate check
 * against a CA (signature, validity period, CA constraints). The security provider does its own, synchronous
 * check on the message path; this one explains failures for humans (`tsco keys list`).
 */
import { X509Certificate, createHash, createPublicKey, type KeyObject } from 'node:crypto';
import { InvalidArgumentError } from '../errors.js';
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

/** What publicKeyInfo reports about a public key file's content. */
export interface PublicKeyInfo {
  kind: 'certificate' | 'public-key';
  /** SHA-256 of the DER SubjectPublicKeyInfo, lower-case hex (same value for a key and its certificate). */
  fingerprint: string;
  /** RSA modulus size, or 0 for a non-RSA key. */
  bits: number;
  keyType: string;
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

/** Details of a PEM public key or certificate; throws InvalidArgumentError when it is neither. */
export function publicKeyInfo(pem: string): PublicKeyInfo {
  if (typeof pem !== 'string') throw new InvalidArgumentError('pem: PEM text is required');
  if (pem.includes('-----BEGIN CERTIFICATE-----')) {
    const certificate = certificateInfo(pem);
    const key = parseNodeCertificate(pem, 'pem').publicKey;
    return { kind: 'certificate', fingerprint: certificate.fingerprint, ...keyShape(key), certificate };
  }
  let key: KeyObject;
  try {
    key = createPublicKey({ key: pem, format: 'pem' });
  } catch (error) {
    throw new InvalidArgumentError(`pem: not a PEM public key or certificate (${(error as Error).message})`, { cause: error });
  }
  return { kind: 'public-key', fingerprint: spkiFingerprint(key), ...keyShape(key) };
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

function keyShape(key: KeyObject): { bits: number; keyType: string } {
  return { bits: key.asymmetricKeyDetails?.modulusLength ?? 0, keyType: key.asymmetricKeyType ?? 'unknown' };
}
