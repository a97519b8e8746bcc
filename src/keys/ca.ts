/**
 * A minimal certificate authority for tscollective identities: a self-signed CA, and leaf certificates
 * whose CN is the identity name, so a certificate can serve as `client_public` and be checked against `ca_cert`.
 */
import { createPublicKey } from 'node:crypto';
import { InvalidArgumentError } from '../errors.js';
import { checkName } from '../names.js';
import { checkRsaBits, generateRsaKeyPair, type RsaBits } from './generate.js';
import { assertKeyName } from './names.js';
import { RSA_SHA256, importPublicKey, importSigningKey, randomSerialNumber, x509 } from './x509.js';

const DAY_MS = 86_400_000;
// A CA name may carry spaces ("Acme tscollective CA") but nothing the DN string syntax would interpret.
const CA_CN_PATTERN = /^[\w .-]+$/;
// Back-dating notBefore a little lets a freshly issued certificate verify on hosts whose clock runs slightly behind.
const BACKDATE_MS = 5 * 60_000;

/** Options of createCa. */
export interface CreateCaOptions {
  /** The CA's common name: letters, digits, space, "_", "." and "-". */
  cn: string;
  /** Validity in days; 3650 when absent. */
  days?: number;
  /** RSA size of the CA key; 2048 when absent. */
  bits?: number;
  /** Start of validity; five minutes ago when absent. */
  notBefore?: Date;
}

/** A CA certificate and its (unencrypted PKCS#8) private key, both PEM. */
export interface CaMaterial {
  certPem: string;
  keyPem: string;
}

/** Options of signCertificate. */
export interface SignCertificateOptions {
  caCertPem: string;
  caKeyPem: string;
  /** The subject's public key (SPKI PEM, or an existing certificate whose key is re-certified). */
  publicKeyPem: string;
  /** The subject's identity name; becomes the CN, and so the callerid `cert=<cn>`. */
  cn: string;
  /** Validity in days from notBefore; 365 when absent. */
  days?: number;
  /** Start of validity; five minutes ago when absent. */
  notBefore?: Date;
  /**
   * Identities written as subjectAltName DNS names: a server certificate naming several identities lets its key
   * sign replies and registrations as each of them (docs/protocol.md, sender identity).
   */
  dnsNames?: readonly string[];
}

/** Creates a self-signed RSA CA certificate (basicConstraints CA:TRUE, keyUsage keyCertSign + cRLSign). */
export async function createCa(options: CreateCaOptions): Promise<CaMaterial> {
  const cn = options?.cn;
  if (typeof cn !== 'string' || !CA_CN_PATTERN.test(cn) || cn.trim() === '') {
    throw new InvalidArgumentError(`options.cn: ${JSON.stringify(cn)} is not a valid CA name (letters, digits, space, "_", "." and "-")`);
  }
  const days = checkDays(options.days ?? 3650, 'options.days');
  const bits: RsaBits = checkRsaBits(options.bits ?? 2048, 'options.bits');
  const { privateKeyPem, publicKeyPem } = await generateRsaKeyPair(bits);
  const signing = await importSigningKey(privateKeyPem, 'CA private key');
  const { key: publicKey } = await importPublicKey(publicKeyPem, 'CA public key');
  const notBefore = checkDate(options.notBefore ?? new Date(Date.now() - BACKDATE_MS), 'options.notBefore');
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerialNumber(),
    name: `CN=${cn.trim()}`,
    notBefore,
    notAfter: new Date(notBefore.getTime() + days * DAY_MS),
    signingAlgorithm: RSA_SHA256,
    keys: { privateKey: signing.key, publicKey },
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(publicKey),
    ],
  });
  return { certPem: cert.toString('pem') + '\n', keyPem: privateKeyPem };
}

/**
 * Issues a leaf certificate (CN = `cn`, RSA-SHA256, CA:FALSE, digitalSignature + keyEncipherment) for
 * `publicKeyPem`, signed by the CA. Refuses a CA certificate that is not a CA or does not match its key.
 */
export async function signCertificate(options: SignCertificateOptions): Promise<string> {
  assertKeyName(options?.cn, 'options.cn');
  const dnsNames = options.dnsNames ?? [];
  if (!Array.isArray(dnsNames)) throw new InvalidArgumentError('options.dnsNames: expected a list of identities');
  dnsNames.forEach((name, index) => checkName('identity', `options.dnsNames[${index}]`, name));
  const days = checkDays(options.days ?? 365, 'options.days');
  const notBefore = checkDate(options.notBefore ?? new Date(Date.now() - BACKDATE_MS), 'options.notBefore');

  let caCert: x509.X509Certificate;
  try {
    caCert = new x509.X509Certificate(requireText(options.caCertPem, 'options.caCertPem'));
  } catch (error) {
    if (error instanceof InvalidArgumentError) throw error;
    throw new InvalidArgumentError(`options.caCertPem: not a PEM X.509 certificate (${(error as Error).message})`, { cause: error });
  }
  const constraints = caCert.getExtension(x509.BasicConstraintsExtension);
  if (!constraints?.ca) throw new InvalidArgumentError('options.caCertPem: the certificate is not a CA (basicConstraints CA:FALSE or absent)');

  const signing = await importSigningKey(requireText(options.caKeyPem, 'options.caKeyPem'), 'options.caKeyPem');
  const caPublicDer = Buffer.from(caCert.publicKey.rawData);
  const keyPublicDer = createPublicKey(signing.object).export({ type: 'spki', format: 'der' });
  if (!caPublicDer.equals(keyPublicDer)) throw new InvalidArgumentError('options.caKeyPem: the key does not belong to the CA certificate');

  const { key: subjectKey } = await importPublicKey(requireText(options.publicKeyPem, 'options.publicKeyPem'), 'options.publicKeyPem');
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerialNumber(),
    subject: `CN=${options.cn}`,
    issuer: caCert.subject,
    notBefore,
    notAfter: new Date(notBefore.getTime() + days * DAY_MS),
    signingAlgorithm: RSA_SHA256,
    publicKey: subjectKey,
    signingKey: signing.key,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
      await x509.SubjectKeyIdentifierExtension.create(subjectKey),
      await x509.AuthorityKeyIdentifierExtension.create(caCert),
      ...(dnsNames.length > 0 ? [new x509.SubjectAlternativeNameExtension(dnsNames.map((value) => ({ type: 'dns' as const, value })))] : []),
    ],
  });
  return cert.toString('pem') + '\n';
}

function checkDays(days: unknown, argument: string): number {
  if (typeof days !== 'number' || !Number.isInteger(days) || days < 1 || days > 36_500) {
    throw new InvalidArgumentError(`${argument}: ${JSON.stringify(days)} is not a whole number of days between 1 and 36500`);
  }
  return days;
}

function checkDate(value: unknown, argument: string): Date {
  if (!(value instanceof Date) || Number.isNaN(value.getTime())) throw new InvalidArgumentError(`${argument}: not a valid Date`);
  return value;
}

function requireText(value: unknown, argument: string): string {
  if (typeof value !== 'string' || value.trim() === '') throw new InvalidArgumentError(`${argument}: PEM text is required`);
  return value;
}
