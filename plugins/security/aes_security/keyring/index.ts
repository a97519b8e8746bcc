/**
 * The keyring of the aes_security provider: our own signing key, the trust stores of others' keys (request
 * senders in client_cert_dir, repliers in server_cert_dir), revocation and the CA. Codecs resolve every key
 * through it; the provider checks it at start-up and reloads it on SIGHUP.
 */
import type { Counters, Logger } from '../../../../src/inter/logger.js';
import type { AesSettings } from '../settings.js';
import { CertificateAuthority } from './authority.js';
import { OwnKeys } from './own-keys.js';
import { Revocation } from './revocation.js';
import { TrustStore } from './trust-store.js';
import { VerdictCache } from './verdict-cache.js';

export { OwnKeys, parsePrivateKey, type OwnKeyPair, type PrivateKey } from './own-keys.js';
export { PublicKeyEntry, KeySet, parseKeySet, parseSingleKey, commonNameOf } from './public-key.js';
export { TrustStore, type ResolvedKey } from './trust-store.js';
export { KeyFileCache } from './file-cache.js';
export { VerdictCache, type CachedVerdict } from './verdict-cache.js';

/** What the keyring needs besides the settings. */
export interface KeyringContext {
  now: () => number;
  logger: Logger;
  counters: Counters;
  /** False for tools that only inspect messages (tsco decode): the verdict cache is read but never written. */
  writeVerdicts?: boolean;
}

/** Own keys, trust stores, revocation and CA, built from the settings. */
export class Keyring {
  readonly own: OwnKeys;
  /** Keys of request senders (`client_cert_dir`). */
  readonly senders: TrustStore;
  /** Keys of repliers (`server_cert_dir`, by default `client_cert_dir`). */
  readonly repliers: TrustStore;
  readonly authority: CertificateAuthority;
  readonly revocation: Revocation;
  /** CA verdicts of earlier runs (`plugin.aes.verdict_cache`). */
  readonly verdictCache: VerdictCache;

  constructor(settings: AesSettings, context: KeyringContext) {
    const recheckMs = settings.keyRecheckMs;
    this.verdictCache = new VerdictCache({
      location: settings.verdictCache, writable: context.writeVerdicts ?? true, ownKey: () => this.own.get().privateKey,
      now: context.now, logger: context.logger, counters: context.counters,
    });
    this.authority = new CertificateAuthority(settings.caCert, recheckMs, context.now, this.verdictCache);
    this.revocation = new Revocation({
      revokedKeysPath: settings.revokedKeys, crlPath: settings.caCrl, authority: this.authority, recheckMs, ...context,
    });
    const trust = {
      learn: settings.learnPubkeys, insecureLearning: settings.insecureLearning, authority: this.authority,
      revocation: this.revocation, recheckMs, ...context,
    };
    this.own = new OwnKeys(settings, context.now);
    this.senders = new TrustStore({ ...trust, dir: settings.clientCertDir });
    this.repliers = settings.serverCertDir === settings.clientCertDir ? this.senders : new TrustStore({ ...trust, dir: settings.serverCertDir });
  }

  /** Problems with the CA and revocation files, and an own key that is revoked: setting and problem. */
  problems(): Array<{ key: string; problem: string }> {
    const problems: Array<{ key: string; problem: string }> = [];
    const caProblem = this.authority.problem();
    if (caProblem) problems.push({ key: 'plugin.aes.ca_cert', problem: caProblem });
    problems.push(...this.revocation.problems());
    try {
      const own = this.own.get();
      const revoked = this.revocation.reason(own.publicKey);
      if (revoked) problems.push({ key: 'plugin.aes.revoked_keys', problem: `our own key is revoked: ${revoked}; rotate to a new key (tsco keys rotate)` });
    } catch {
      // Own key problems are reported by the provider with the setting they come from.
    }
    return problems;
  }

  /** Forgets every parsed file (SIGHUP): keys, CA, revocation list and CRL are read again on next use. */
  reload(): void {
    this.own.reload();
    this.senders.reload();
    if (this.repliers !== this.senders) this.repliers.reload();
    this.authority.reload();
    this.revocation.reload();
    this.verdictCache.reload();
  }

  /** Writes the CA verdicts not yet written (close; a process exit does it too). */
  close(): void {
    this.verdictCache.flush();
  }
}
