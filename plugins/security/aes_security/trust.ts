/**
 * Whose public keys we trust: keys installed in a certificate directory (`<dir>/<name>.pem`), keys learned
 * from the network (send_pubkey + learn_pubkeys), and the CA check that gates both when `ca_cert` is set.
 */
import { X509Certificate } from 'node:crypto';
import { linkSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CaRejectedError, KeyFileError, MalformedMessageError, UnknownSenderError } from '../../../src/errors.js';
import type { Counters, Logger } from '../../../src/inter/logger.js';
import { KeyFileCache, commonNameOf, parsePublicFile, parsePublicIdentity, type PublicIdentity } from './keys.js';
import { keyPathFor } from './names.js';
import { randomBytesFast } from './primitives.js';

/** How a trust store behaves. */
export interface TrustOptions {
  /** The certificate directory; undefined means no keys can be found (every sender is unknown). */
  dir: string | undefined;
  /** Path of the CA certificate; when set, every key used must be a certificate it signed with CN = name. */
  caCertPath: string | undefined;
  learn: boolean;
  insecureLearning: boolean;
  recheckMs: number;
  now: () => number;
  logger: Logger;
  counters: Counters;
}

/** A resolved sender key; `commit` persists a key learned from the message, to be called once it verified. */
export interface ResolvedKey {
  identity: PublicIdentity;
  commit?: () => void;
}

/** Sidecar record written next to a learned key, so tools can tell learned keys from installed ones. */
export interface LearnedRecord {
  name: string;
  kid: string;
  learnedAt: string;
  senderid: string;
  verifiedBy: 'ca' | 'insecure_learning';
}

/** The sidecar path of a learned key: `<dir>/.<name>.learned.json`. */
export function learnedRecordPath(dir: string, name: string): string {
  return join(dir, `.${name}.learned.json`);
}

interface ValidityWindow {
  cert: X509Certificate;
  label: string;
  from: number;
  to: number;
}

/** Resolves and (optionally) learns public keys of message senders. */
export class TrustStore {
  private readonly keys: KeyFileCache<PublicIdentity>;
  private readonly caFile: KeyFileCache<X509Certificate>;
  /** Per certificate: the CA check's outcome and both validity windows (ms), parsed once rather than per message. */
  private readonly verdicts = new WeakMap<X509Certificate, { ca: X509Certificate; reason: string | null; windows: ValidityWindow[] }>();
  /** name -> `<dir>/<name>.pem` (or null for an invalid name): path arithmetic is not free on the hot path. */
  private readonly paths = new Map<string, string | null>();

  constructor(private readonly options: TrustOptions) {
    this.keys = new KeyFileCache(parsePublicFile, options.recheckMs, options.now);
    this.caFile = new KeyFileCache((text, path) => {
      try {
        const ca = new X509Certificate(text);
        if (!ca.ca) throw new KeyFileError(`${path}: certificate is not a CA (basicConstraints CA:FALSE)`);
        return ca;
      } catch (error) {
        if (error instanceof KeyFileError) throw error;
        throw new KeyFileError(`${path}: not a PEM X.509 certificate (${(error as Error).message})`, { cause: error });
      }
    }, options.recheckMs, options.now);
  }

  /** Drops cached keys and CA so the next lookup re-reads the files. */
  reload(): void {
    this.keys.clear();
    this.caFile.clear();
  }

  /** Problems with the CA file, for validate(). */
  caProblem(): string | null {
    if (!this.options.caCertPath) return null;
    try {
      return this.caFile.get(this.options.caCertPath) ? null : `${this.options.caCertPath} does not exist`;
    } catch (error) {
      return (error as Error).message;
    }
  }

  /**
   * The key of sender `name` that signed with key id `kid`. Looks in the directory first (an installed or
   * learned key is never replaced by a network one); falls back to the key attached to the message when
   * learning is on and the CA (or insecure_learning) allows it.
   */
  resolve(name: string, kid: string, attachedPem: string | undefined, senderid: string): ResolvedKey {
    const { dir } = this.options;
    const path = dir === undefined ? null : this.pathFor(dir, name);
    if (dir === undefined) throw new UnknownSenderError(`no key directory is configured, so sender ${name} cannot be authenticated`);
    if (path === null) throw new UnknownSenderError(`sender name ${JSON.stringify(name)} is not a valid key name ([\\w.-]+)`);
    let cached: PublicIdentity | null;
    try {
      cached = this.keys.get(path);
    } catch (error) {
      throw new UnknownSenderError(`key file for ${name} is unusable: ${(error as Error).message}`, { cause: error });
    }
    if (cached) {
      this.checkCa(cached, name, path);
      if (cached.kid !== kid) {
        throw new UnknownSenderError(`message from ${name} is signed by key id ${kid}, but ${path} holds key id ${cached.kid}`);
      }
      return { identity: cached };
    }
    if (attachedPem === undefined) {
      throw new UnknownSenderError(`no public key for ${name} in ${dir} and the message carries none (sender has send_pubkey = 0)`);
    }
    if (!this.options.learn) {
      throw new UnknownSenderError(`no public key for ${name} in ${dir}; the message carries one but learn_pubkeys = 0`);
    }
    let attached: PublicIdentity;
    try {
      attached = parsePublicIdentity(attachedPem, `public key attached by ${senderid}`, name);
    } catch (error) {
      throw new MalformedMessageError((error as Error).message, { cause: error });
    }
    if (attached.name !== name) {
      throw new CaRejectedError(`attached certificate's CN ${JSON.stringify(attached.name)} does not match callerid name ${JSON.stringify(name)}`);
    }
    if (attached.kid !== kid) {
      throw new UnknownSenderError(`attached key of ${name} has key id ${attached.kid}, but the message names key id ${kid}`);
    }
    let verifiedBy: LearnedRecord['verifiedBy'];
    if (this.options.caCertPath) {
      this.checkCa(attached, name, 'attached certificate');
      verifiedBy = 'ca';
    } else if (this.options.insecureLearning) {
      verifiedBy = 'insecure_learning';
    } else {
      throw new CaRejectedError(`refusing to learn the key of ${name}: set plugin.aes.ca_cert, or plugin.aes.insecure_learning = 1 to accept any key`);
    }
    return { identity: attached, commit: () => this.learn(dir, path, attached, senderid, verifiedBy) };
  }

  private pathFor(dir: string, name: string): string | null {
    let path = this.paths.get(name);
    if (path === undefined) {
      path = keyPathFor(dir, name);
      if (this.paths.size >= 10000) this.paths.clear();
      this.paths.set(name, path);
    }
    return path;
  }

  private learn(dir: string, path: string, identity: PublicIdentity, senderid: string, verifiedBy: LearnedRecord['verifiedBy']): void {
    const temp = join(dir, `.${identity.name}.pem.${process.pid}.${randomBytesFast(6).toString('hex')}.tmp`);
    try {
      writeFileSync(temp, identity.pem, { mode: 0o644, flag: 'wx' });
      // link() fails when the target exists, which makes "write only if absent" atomic against a concurrent learner.
      linkSync(temp, path);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') return;
      this.options.counters.increment('security.learn_failed');
      this.options.logger.error({ name: identity.name, path, error: (error as Error).message }, 'could not store learned public key');
      return;
    } finally {
      try { unlinkSync(temp); } catch { /* already gone */ }
    }
    const record: LearnedRecord = { name: identity.name, kid: identity.kid, learnedAt: new Date(this.options.now()).toISOString(), senderid, verifiedBy };
    try {
      writeFileSync(learnedRecordPath(dir, identity.name), `${JSON.stringify(record)}\n`, { mode: 0o644 });
    } catch (error) {
      this.options.logger.warn({ name: identity.name, error: (error as Error).message }, 'learned key stored, but its sidecar record could not be written');
    }
    this.keys.clear(path);
    this.options.counters.increment('security.learned');
    const fields = { name: identity.name, kid: identity.kid, senderid, path };
    if (verifiedBy === 'insecure_learning') {
      this.options.logger.warn(fields, 'learned a public key WITHOUT CA verification (insecure_learning = 1): anyone who can reach the middleware can introduce keys');
    } else {
      this.options.logger.info(fields, 'learned a CA-verified certificate');
    }
  }

  private checkCa(identity: PublicIdentity, name: string, where: string): void {
    const caPath = this.options.caCertPath;
    if (!caPath) return;
    let ca: X509Certificate | null;
    try {
      ca = this.caFile.get(caPath);
    } catch (error) {
      throw new CaRejectedError(`CA certificate unusable: ${(error as Error).message}`, { cause: error });
    }
    if (!ca) throw new CaRejectedError(`CA certificate ${caPath} does not exist`);
    const certificate = identity.certificate;
    if (!certificate) throw new CaRejectedError(`${where} for ${name} is a bare public key; with ca_cert set only CA-signed certificates are accepted`);
    let verdict = this.verdicts.get(certificate);
    if (!verdict || verdict.ca !== ca) {
      let reason: string | null = null;
      if (!certificate.checkIssued(ca) || !certificate.verify(ca.publicKey)) reason = `${where} for ${name} is not signed by the configured CA`;
      else if (commonNameOf(certificate) !== name) reason = `${where} has CN ${JSON.stringify(commonNameOf(certificate))}, expected ${JSON.stringify(name)}`;
      const windows = [[certificate, `${where} for ${name}`], [ca, 'CA certificate']] as const;
      verdict = { ca, reason, windows: windows.map(([cert, label]) => ({ cert, label, from: Date.parse(cert.validFrom), to: Date.parse(cert.validTo) })) };
      this.verdicts.set(certificate, verdict);
    }
    if (verdict.reason) throw new CaRejectedError(verdict.reason);
    const now = this.options.now();
    for (const { cert, label, from, to } of verdict.windows) {
      if (now < from) throw new CaRejectedError(`${label} is not valid before ${cert.validFrom}`);
      if (now > to) throw new CaRejectedError(`${label} expired at ${cert.validTo}`);
    }
  }
}
