/**
 * The CA check (`plugin.aes.ca_cert`): with a CA configured, every key used, installed or learned, must be a
 * certificate the CA signed, whose CN is the name it is used for, within its validity period (and the CA within
 * its own). The CA's outcome per certificate is computed once and kept with the key, and a positive one is also
 * kept across runs in the verdict cache (verdict-cache.ts), so a certificate seen before is not parsed again; the
 * validity windows are compared with the clock on every use.
 */
import { X509Certificate, createHash, type KeyObject } from 'node:crypto';
import { CaRejectedError, KeyFileError } from '../../../../src/errors.js';
import { caSubjectOf } from '../../../../src/keys/crl.js';
import { KeyFileCache } from './file-cache.js';
import { commonNameOf, type PublicKeyEntry } from './public-key.js';
import type { VerdictCache } from './verdict-cache.js';

/** The configured CA certificate, parsed once per file version. */
export interface CaCertificate {
  readonly certificate: X509Certificate;
  readonly publicKey: KeyObject;
  /** The subject as @peculiar/x509 prints it (CRL issuers are compared with it). */
  readonly subject: string;
  /** SHA-256 of the certificate's DER, hex (what cached verdicts are bound to). */
  readonly digest: string;
  /** The CA's own validity window. */
  readonly window: ValidityWindow;
}

/** A validity period as the CA check compares it with the clock. */
export interface ValidityWindow {
  label: string;
  validFrom: string;
  validTo: string;
  from: number;
  to: number;
}

interface Verdict {
  ca: CaCertificate;
  name: string;
  reason: string | null;
  windows: ValidityWindow[];
}

/** Checks keys against the configured CA. */
export class CertificateAuthority {
  private readonly file: KeyFileCache<CaCertificate>;
  private readonly verdicts = new WeakMap<PublicKeyEntry, Verdict>();

  /** `persisted`: the verdict cache of earlier runs, when one is configured. */
  constructor(readonly path: string | undefined, recheckMs: number, private readonly now: () => number, private readonly persisted?: VerdictCache) {
    this.file = new KeyFileCache((text, file) => parseCa(text, file), recheckMs, now);
  }

  /** Whether a CA is configured. */
  get configured(): boolean {
    return this.path !== undefined;
  }

  /** The CA certificate; null when none is configured. Throws KeyFileError when it is missing or unusable. */
  current(): CaCertificate | null {
    if (this.path === undefined) return null;
    const ca = this.file.get(this.path);
    if (!ca) throw new KeyFileError(`CA certificate ${this.path} does not exist`);
    return ca;
  }

  /** Problems with the CA file, for validate(). */
  problem(): string | null {
    try {
      this.current();
      return null;
    } catch (error) {
      return (error as Error).message;
    }
  }

  /**
   * Throws CaRejectedError unless `entry` is a certificate the CA signed, with CN = `name`, and both are within
   * their validity now. A no-op without a CA. `where` says which key it is in the message ("attached certificate").
   */
  check(entry: PublicKeyEntry, name: string, where: string): void {
    if (this.path === undefined) return;
    let ca: CaCertificate | null;
    try {
      ca = this.current();
    } catch (error) {
      throw new CaRejectedError(`CA certificate unusable: ${(error as Error).message}`, { cause: error });
    }
    if (!ca) return;
    if (!entry.isCertificate) throw new CaRejectedError(`${where} for ${name} (key ${entry.kid}) is a bare public key; with ca_cert set only CA-signed certificates are accepted`);
    let verdict = this.verdicts.get(entry);
    if (!verdict || verdict.ca !== ca || verdict.name !== name) {
      verdict = this.recall(entry, ca, name, where) ?? this.judge(entry, ca, name, where);
      this.verdicts.set(entry, verdict);
    }
    if (verdict.reason) throw new CaRejectedError(verdict.reason);
    const now = this.now();
    for (const { label, validFrom, validTo, from, to } of verdict.windows) {
      if (now < from) throw new CaRejectedError(`${label} is not valid before ${validFrom}`);
      if (now > to) throw new CaRejectedError(`${label} expired at ${validTo}`);
    }
  }

  /** Forgets the parsed CA (SIGHUP). */
  reload(): void {
    this.file.clear();
  }

  /** A positive verdict of an earlier run, without parsing the certificate; undefined when none is recorded. */
  private recall(entry: PublicKeyEntry, ca: CaCertificate, name: string, where: string): Verdict | undefined {
    const cached = this.persisted?.get(ca.digest, entry.derDigest, name);
    if (!cached || cached.serial !== entry.serial) return undefined;
    const { validFrom, validTo, from, to } = cached;
    return { ca, name, reason: null, windows: [{ label: `${where} for ${name} (key ${entry.kid})`, validFrom, validTo, from, to }, ca.window] };
  }

  private judge(entry: PublicKeyEntry, ca: CaCertificate, name: string, where: string): Verdict {
    const label = `${where} for ${name} (key ${entry.kid})`;
    let certificate: X509Certificate;
    try {
      certificate = entry.certificate!;
    } catch (error) {
      return { ca, name, reason: (error as Error).message, windows: [] };
    }
    let reason: string | null = null;
    if (!certificate.checkIssued(ca.certificate) || !certificate.verify(ca.publicKey)) reason = `${label} is not signed by the configured CA`;
    else if (commonNameOf(certificate) !== name) reason = `${label} has CN ${JSON.stringify(commonNameOf(certificate))}, expected ${JSON.stringify(name)}`;
    const own = windowOf(certificate, label);
    // Recorded only when node read the same DER we key it by, so the verdict is about exactly those bytes.
    if (reason === null && this.persisted && entry.serial !== undefined && entry.hasDer(certificate.raw)) {
      this.persisted.record(ca.digest, entry.derDigest, name, { serial: entry.serial, validFrom: own.validFrom, validTo: own.validTo, from: own.from, to: own.to });
    }
    return { ca, name, reason, windows: [own, ca.window] };
  }
}

function parseCa(text: string, path: string): CaCertificate {
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(text);
  } catch (error) {
    throw new KeyFileError(`${path}: not a PEM X.509 certificate (${(error as Error).message})`, { cause: error });
  }
  if (!certificate.ca) throw new KeyFileError(`${path}: certificate is not a CA (basicConstraints CA:FALSE)`);
  let subject: string | undefined;
  return {
    certificate,
    publicKey: certificate.publicKey,
    // Only a CRL check needs it, and computing it loads @peculiar/x509: never on a node without ca_crl.
    get subject() { return (subject ??= caSubjectOf(text)); },
    digest: createHash('sha256').update(certificate.raw).digest('hex'),
    window: windowOf(certificate, 'CA certificate'),
  };
}

function windowOf(certificate: X509Certificate, label: string): ValidityWindow {
  const { validFrom, validTo } = certificate;
  return { label, validFrom, validTo, from: Date.parse(validFrom), to: Date.parse(validTo) };
}
