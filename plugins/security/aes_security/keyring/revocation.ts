/**
 * Revocation: `plugin.aes.revoked_keys` (key ids and certificate serials, src/keys/revocation-list.ts) and
 * `plugin.aes.ca_crl` (a CRL the configured CA signed). Both are re-read when their file changes (checked every
 * `key_recheck_interval`, and at once on SIGHUP). A list or CRL that becomes unusable (unparseable, deleted, a CRL
 * not signed by the CA) does not un-revoke anything: the last good one stays in force, and the problem is logged
 * (rate-limited) and counted. A CRL past its nextUpdate is still applied, with a warning.
 */
import { createHash } from 'node:crypto';
import { KeyFileError, RevokedKeyError } from '../../../../src/errors.js';
import type { Counters, Logger } from '../../../../src/inter/logger.js';
import { crlProblem, parseCrl, type ParsedCrl } from '../../../../src/keys/crl.js';
import { parseRevocationList, type RevocationList } from '../../../../src/keys/revocation-list.js';
import { LogLimiter } from '../../../../src/util/log-limiter.js';
import type { CertificateAuthority } from './authority.js';
import { KeyFileCache } from './file-cache.js';
import type { PublicKeyEntry } from './public-key.js';

/** Where revocations come from. */
export interface RevocationOptions {
  revokedKeysPath: string | undefined;
  crlPath: string | undefined;
  authority: CertificateAuthority;
  recheckMs: number;
  now: () => number;
  logger: Logger;
  counters: Counters;
}

const EMPTY: ReadonlySet<string> = new Set();

/** Answers whether a key is revoked. */
export class Revocation {
  private readonly lists: KeyFileCache<RevocationList>;
  private readonly crls: KeyFileCache<ParsedCrl>;
  private readonly limiter: LogLimiter;
  private lastList: RevocationList = { kids: EMPTY, serials: EMPTY };
  private lastCrlSerials: ReadonlySet<string> = EMPTY;
  /** The CRL (and CA) whose verdict `lastCrlSerials` reflects. */
  private checkedCrl: { crl: ParsedCrl; ca: unknown } | undefined;

  constructor(private readonly options: RevocationOptions) {
    this.lists = new KeyFileCache((text, path) => parseRevocationList(text, path), options.recheckMs, options.now);
    this.crls = new KeyFileCache((text, path) => {
      try {
        return parseCrl(text);
      } catch (error) {
        throw new KeyFileError(`${path}: ${(error as Error).message}`, { cause: error });
      }
    }, options.recheckMs, options.now);
    this.limiter = new LogLimiter(options.logger, { now: options.now });
  }

  /** Why `entry` is revoked (naming where), or null. Cheap: set lookups once the files are read. */
  reason(entry: PublicKeyEntry): string | null {
    const list = this.list();
    if (list.kids.has(entry.kid)) return `key ${entry.kid} is revoked (listed in ${this.options.revokedKeysPath})`;
    const serial = entry.serial;
    if (serial === undefined) return null;
    if (list.serials.has(serial)) return `key ${entry.kid} is revoked (certificate serial ${serial} is listed in ${this.options.revokedKeysPath})`;
    if (this.crlSerials().has(serial)) return `key ${entry.kid} is revoked (certificate serial ${serial} is in the CA's CRL ${this.options.crlPath})`;
    return null;
  }

  /** Whether key id `kid` itself is listed (for a message signed by a key no file holds any more). */
  kidRevoked(kid: string): boolean {
    return this.list().kids.has(kid);
  }

  /** Throws RevokedKeyError naming the key, the sender name and where it is revoked. */
  check(entry: PublicKeyEntry, name: string): void {
    const reason = this.reason(entry);
    if (reason !== null) {
      this.options.counters.increment('security.revoked');
      throw new RevokedKeyError(`${name}: ${reason}`);
    }
  }

  /** Problems with the revocation files, for validate(). */
  problems(): Array<{ key: string; problem: string }> {
    const problems: Array<{ key: string; problem: string }> = [];
    const { revokedKeysPath, crlPath, authority } = this.options;
    if (revokedKeysPath !== undefined) {
      try {
        if (!this.lists.get(revokedKeysPath)) problems.push({ key: 'plugin.aes.revoked_keys', problem: `${revokedKeysPath} does not exist` });
      } catch (error) {
        problems.push({ key: 'plugin.aes.revoked_keys', problem: (error as Error).message });
      }
    }
    if (crlPath !== undefined) {
      if (!authority.configured) {
        problems.push({ key: 'plugin.aes.ca_crl', problem: 'a CRL is checked against plugin.aes.ca_cert, which is not set' });
        return problems;
      }
      try {
        const crl = this.crls.get(crlPath);
        const ca = authority.current();
        if (!crl) problems.push({ key: 'plugin.aes.ca_crl', problem: `${crlPath} does not exist` });
        else if (ca) {
          const problem = crlProblem(crl, ca.subject, ca.publicKey, this.options.now());
          if (problem) problems.push({ key: 'plugin.aes.ca_crl', problem: `${crlPath}: ${problem}` });
        }
      } catch (error) {
        problems.push({ key: 'plugin.aes.ca_crl', problem: (error as Error).message });
      }
    }
    return problems;
  }

  /** Forgets the parsed files (SIGHUP); the last good ones stay in force until the files are read again. */
  reload(): void {
    this.lists.clear();
    this.crls.clear();
  }

  private list(): RevocationList {
    const path = this.options.revokedKeysPath;
    if (path === undefined) return this.lastList;
    try {
      const list = this.lists.get(path);
      if (list) this.lastList = list;
      else this.unusable('revoked_keys', path, 'the file does not exist');
    } catch (error) {
      this.unusable('revoked_keys', path, (error as Error).message);
    }
    return this.lastList;
  }

  private crlSerials(): ReadonlySet<string> {
    const path = this.options.crlPath;
    if (path === undefined) return this.lastCrlSerials;
    try {
      const crl = this.crls.get(path);
      const ca = this.options.authority.current();
      if (!crl) this.unusable('ca_crl', path, 'the file does not exist');
      else if (ca && (this.checkedCrl?.crl !== crl || this.checkedCrl.ca !== ca)) this.adopt(crl, ca, path);
      else if (crl.nextUpdate && crl.nextUpdate.getTime() < this.options.now()) this.stale(crl, path);
    } catch (error) {
      this.unusable('ca_crl', path, (error as Error).message);
    }
    return this.lastCrlSerials;
  }

  private adopt(crl: ParsedCrl, ca: NonNullable<ReturnType<CertificateAuthority['current']>>, path: string): void {
    const problem = crlProblem(crl, ca.subject, ca.publicKey, this.options.now());
    if (problem) {
      // Judged once per (CRL, CA) pair: a bad CRL is not re-verified on every message.
      this.checkedCrl = { crl, ca };
      this.unusable('ca_crl', path, problem);
      return;
    }
    this.checkedCrl = { crl, ca };
    this.lastCrlSerials = crl.serials;
    this.options.logger.info({ path, revoked: crl.serials.size, digest: createHash('sha256').update(crl.tbs).digest('hex').slice(0, 16) }, 'CRL loaded');
  }

  private stale(crl: ParsedCrl, path: string): void {
    this.options.counters.increment('security.crl_stale');
    this.limiter.log('warn', 'crl_stale', { path, nextUpdate: crl.nextUpdate?.toISOString() },
      `CRL ${path} is past its nextUpdate (${crl.nextUpdate?.toISOString()}); it is still applied: publish a fresh one`);
  }

  private unusable(setting: 'revoked_keys' | 'ca_crl', path: string, why: string): void {
    this.options.counters.increment(`security.${setting}_unusable`);
    this.limiter.log('error', `${setting}_unusable`, { path },
      `plugin.aes.${setting} ${path} cannot be used (${why}); the last revocations read stay in force`);
  }
}
