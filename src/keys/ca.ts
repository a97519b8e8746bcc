/**
 * A minimal certificate authority for tscollective identities: a self-signed CA of any key type, leaf certificates
 * whose CN is the identity name (so a certificate can serve as `client_public` and be checked against `ca_cert`),
 * and certificate revocation lists (`plugin.aes.ca_crl`).
 */
import { createPublicKey } from 'node:crypto';
import { InvalidArgumentError } from '../errors.js';
import { checkName } from '../names.js';
import { checkRsaBits, generatePemKeyPair } from './generate.js';
import { checkKeyType, type KeyType } from './key-types.js';
import { splitPemBlocks } from './layout.js';
import { assertKeyName } from './names.js';
import { CERTIFICATE_SIGNING, importPublicKey, importSigningKey, randomSerialNumber, x509 } from './x509.js';

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
  /** Key type of the CA key; `rsa` when absent. */
  type?: KeyType;
  /** RSA size of the CA key; 2048 when absent (RSA only). */
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

/** Creates a self-signed CA certificate of any key type (basicConstraints CA:TRUE, keyUsage keyCertSign + cRLSign). */
export async function createCa(options: CreateCaOptions): Promise<CaMaterial> {
  const cn = options?.cn;
  if (typeof cn !== 'string' || !CA_CN_PATTERN.test(cn) || cn.trim() === '') {
    throw new InvalidArgumentError(`options.cn: ${JSON.stringify(cn)} is not a valid CA name (letters, digits, space, "_", "." and "-")`);
  }
  const days = checkDays(options.days ?? 3650, 'options.days');
  const type = checkKeyType(options.type ?? 'rsa', 'options.type');
  if (type !== 'rsa' && options.bits !== undefined) throw new InvalidArgumentError(`options.bits: only RSA keys have a size; not ${type}`);
  const bits = type === 'rsa' ? { bits: checkRsaBits(options.bits ?? 2048, 'options.bits') } : {};
  const { privateKeyPem, publicKeyPem } = await generatePemKeyPair(type, bits);
  const signing = await importSigningKey(privateKeyPem, 'CA private key');
  const { key: publicKey } = await importPublicKey(publicKeyPem, 'CA public key');
  const notBefore = checkDate(options.notBefore ?? new Date(Date.now() - BACKDATE_MS), 'options.notBefore');
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerialNumber(),
    name: `CN=${cn.trim()}`,
    notBefore,
    notAfter: new Date(notBefore.getTime() + days * DAY_MS),
    signingAlgorithm: CERTIFICATE_SIGNING[type],
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
 * Issues a leaf certificate (CN = `cn`, CA:FALSE, digitalSignature, and keyEncipherment for an RSA key) for the
 * first key of `publicKeyPem` (a key file may hold several after a rotation: the first is the newest), signed by
 * the CA with its key type's algorithm. Refuses a CA certificate that is not a CA or does not match its key.
 */
export async function signCertificate(options: SignCertificateOptions): Promise<string> {
  assertKeyName(options?.cn, 'options.cn');
  const dnsNames = options.dnsNames ?? [];
  if (!Array.isArray(dnsNames)) throw new InvalidArgumentError('options.dnsNames: expected a list of identities');
  dnsNames.forEach((name, index) => checkName('identity', `options.dnsNames[${index}]`, name));
  const days = checkDays(options.days ?? 365, 'options.days');
  const notBefore = checkDate(options.notBefore ?? new Date(Date.now() - BACKDATE_MS), 'options.notBefore');

  const caCert = parseCa(options.caCertPem);
  const signing = await importSigningKey(requireText(options.caKeyPem, 'options.caKeyPem'), 'options.caKeyPem');
  checkCaKey(caCert, signing.object);

  const subject = await importPublicKey(firstBlock(requireText(options.publicKeyPem, 'options.publicKeyPem')), 'options.publicKeyPem');
  const usages = x509.KeyUsageFlags.digitalSignature | (subject.type === 'rsa' ? x509.KeyUsageFlags.keyEncipherment : 0);
  const subjectKey = subject.key;
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerialNumber(),
    subject: `CN=${options.cn}`,
    issuer: caCert.subject,
    notBefore,
    notAfter: new Date(notBefore.getTime() + days * DAY_MS),
    signingAlgorithm: CERTIFICATE_SIGNING[signing.type],
    publicKey: subjectKey,
    signingKey: signing.key,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(usages, true),
      await x509.SubjectKeyIdentifierExtension.create(subjectKey),
      await x509.AuthorityKeyIdentifierExtension.create(caCert),
      ...(dnsNames.length > 0 ? [new x509.SubjectAlternativeNameExtension(dnsNames.map((value) => ({ type: 'dns' as const, value })))] : []),
    ],
  });
  return cert.toString('pem') + '\n';
}

/** Options of createCrl. */
export interface CreateCrlOptions {
  caCertPem: string;
  caKeyPem: string;
  /** Serial numbers of the revoked certificates, hex. */
  serials: readonly string[];
  /** Days until the next update; 30 when absent. */
  days?: number;
  /** The CRL's thisUpdate; now when absent. */
  thisUpdate?: Date;
}

/** A CRL (PEM, `-----BEGIN X509 CRL-----`) revoking `serials`, signed by the CA: what `plugin.aes.ca_crl` reads. */
export async function createCrl(options: CreateCrlOptions): Promise<string> {
  const caCert = parseCa(options?.caCertPem);
  const signing = await importSigningKey(requireText(options.caKeyPem, 'options.caKeyPem'), 'options.caKeyPem');
  checkCaKey(caCert, signing.object);
  if (!Array.isArray(options.serials)) throw new InvalidArgumentError('options.serials: expected a list of hex serial numbers');
  options.serials.forEach((serial, index) => {
    if (typeof serial !== 'string' || !/^[0-9a-fA-F]{1,64}$/.test(serial)) throw new InvalidArgumentError(`options.serials[${index}]: ${JSON.stringify(serial)} is not a hex serial number`);
  });
  const thisUpdate = checkDate(options.thisUpdate ?? new Date(), 'options.thisUpdate');
  const days = checkDays(options.days ?? 30, 'options.days');
  const crl = await x509.X509CrlGenerator.create({
    issuer: caCert.subject,
    thisUpdate,
    nextUpdate: new Date(thisUpdate.getTime() + days * DAY_MS),
    signingAlgorithm: CERTIFICATE_SIGNING[signing.type],
    signingKey: signing.key,
    entries: options.serials.map((serialNumber) => ({ serialNumber: serialNumber.toLowerCase(), revocationDate: thisUpdate })),
  });
  return `${crl.toString('pem').replace(/-----(BEGIN|END) CRL-----/g, '-----$1 X509 CRL-----')}\n`;
}

function parseCa(pem: unknown): x509.X509Certificate {
  let caCert: x509.X509Certificate;
  try {
    caCert = new x509.X509Certificate(requireText(pem, 'options.caCertPem'));
  } catch (error) {
    if (error instanceof InvalidArgumentError) throw error;
    throw new InvalidArgumentError(`options.caCertPem: not a PEM X.509 certificate (${(error as Error).message})`, { cause: error });
  }
  const constraints = caCert.getExtension(x509.BasicConstraintsExtension);
  if (!constraints?.ca) throw new InvalidArgumentError('options.caCertPem: the certificate is not a CA (basicConstraints CA:FALSE or absent)');
  return caCert;
}

function checkCaKey(caCert: x509.X509Certificate, key: Parameters<typeof createPublicKey>[0]): void {
  const caPublicDer = Buffer.from(caCert.publicKey.rawData);
  const keyPublicDer = createPublicKey(key).export({ type: 'spki', format: 'der' });
  if (!caPublicDer.equals(keyPublicDer)) throw new InvalidArgumentError('options.caKeyPem: the key does not belong to the CA certificate');
}

function firstBlock(pem: string): string {
  try {
    return splitPemBlocks(pem)[0]!.text;
  } catch (error) {
    throw new InvalidArgumentError(`options.publicKeyPem: ${(error as Error).message}`, { cause: error });
  }
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
