/**
 * Binding a message's claimed sender (`senderid`) to the key that signed it (docs/protocol.md, "Sender identity").
 * In order: a key listed in `shared_server_keys` proves nothing about which server sent (`shared`); a key whose
 * name is senderid (`key-name`); a certificate whose CN or a subjectAltName DNS name is senderid (`certificate`);
 * an `identity_map` entry (`mapping`); otherwise nothing (`none`). Certificate and map verdicts are cached per
 * (key, senderid), so the hot path costs a map lookup.
 */
import type { X509Certificate } from 'node:crypto';
import type { Logger } from '../../../src/inter/logger.js';
import type { SenderProof } from '../../../src/inter/message.js';
import { LogLimiter } from '../../../src/util/log-limiter.js';
import { mapAllows, parseIdentityMap, type IdentityMap } from './identity-map.js';
import { KeyFileCache } from './keyring/file-cache.js';
import { commonNameOf, type PublicKeyEntry } from './keyring/public-key.js';

/** How sender identities are bound. */
export interface BindingOptions {
  sharedKeys: ReadonlySet<string>;
  identityMapPath: string | undefined;
  /**
   * Whether a certificate's names count: false when keys may be learned without a CA (insecure_learning), since
   * anyone could then introduce a certificate naming any identity.
   */
  certificateProofs: boolean;
  recheckMs: number;
  now: () => number;
  logger: Logger;
}

/** Senderids remembered per key before its cache is cleared (bounds what a flood of names can cost). */
const MAX_CACHED_NAMES = 4096;

/** Computes SenderProofs. */
export class SenderBinding {
  private readonly maps: KeyFileCache<IdentityMap>;
  private readonly certificateVerdicts = new WeakMap<X509Certificate, Map<string, boolean>>();
  private readonly mapVerdicts = new WeakMap<IdentityMap, Map<string, boolean>>();
  private readonly limiter: LogLimiter;

  constructor(private readonly options: BindingOptions) {
    this.maps = new KeyFileCache((text, path) => parseIdentityMap(text, path), options.recheckMs, options.now);
    this.limiter = new LogLimiter(options.logger, { now: options.now });
  }

  /** How `senderid` is bound to the key `keyName` (which verified the message's signature). */
  proof(keyName: string, identity: PublicKeyEntry, senderid: string): SenderProof {
    if (this.options.sharedKeys.has(keyName)) return 'shared';
    if (keyName === senderid) return 'key-name';
    if (this.options.certificateProofs && identity.isCertificate) {
      const certificate = parsedCertificate(identity);
      if (certificate && this.certificateNames(certificate, senderid)) return 'certificate';
    }
    if (this.mapped(keyName, senderid)) return 'mapping';
    return 'none';
  }

  /** Why a key is not bound to senderid, for the refusal message. */
  explain(keyName: string, identity: PublicKeyEntry, senderid: string): string {
    const reasons = [`the key's name is ${keyName}`];
    if (!identity.isCertificate) reasons.push('it is not a certificate');
    else if (!parsedCertificate(identity)) reasons.push('its certificate cannot be parsed');
    else if (!this.options.certificateProofs) reasons.push('certificate names do not count while keys are learned without a CA');
    else reasons.push('its certificate names neither it in CN nor in a subjectAltName');
    reasons.push(this.options.identityMapPath ? `${this.options.identityMapPath} does not map it` : 'no plugin.aes.identity_map is set');
    return reasons.join(', ');
  }

  /** Problems with the identity map file, for validate(). */
  mapProblem(): string | null {
    const path = this.options.identityMapPath;
    if (path === undefined) return null;
    try {
      return this.maps.get(path) ? null : `${path} does not exist`;
    } catch (error) {
      return (error as Error).message;
    }
  }

  /** Forgets the parsed map (SIGHUP). */
  reload(): void {
    this.maps.clear();
  }

  private certificateNames(certificate: X509Certificate, senderid: string): boolean {
    let verdicts = this.certificateVerdicts.get(certificate);
    if (!verdicts) this.certificateVerdicts.set(certificate, (verdicts = new Map()));
    let verdict = verdicts.get(senderid);
    if (verdict === undefined) {
      verdict = commonNameOf(certificate) === senderid
        || certificate.checkHost(senderid, { subject: 'never', wildcards: false, partialWildcards: false }) === senderid;
      remember(verdicts, senderid, verdict);
    }
    return verdict;
  }

  private mapped(keyName: string, senderid: string): boolean {
    const path = this.options.identityMapPath;
    if (path === undefined) return false;
    let map: IdentityMap | null;
    try {
      map = this.maps.get(path);
    } catch (error) {
      this.limiter.log('error', 'identity_map', { path }, `plugin.aes.identity_map is unusable, so no mapping applies: ${(error as Error).message}`);
      return false;
    }
    if (!map) return false;
    let verdicts = this.mapVerdicts.get(map);
    if (!verdicts) this.mapVerdicts.set(map, (verdicts = new Map()));
    const cacheKey = `${keyName}\0${senderid}`;
    let verdict = verdicts.get(cacheKey);
    if (verdict === undefined) {
      verdict = mapAllows(map, keyName, senderid);
      remember(verdicts, cacheKey, verdict);
    }
    return verdict;
  }
}

/** The key's certificate, or undefined when node cannot parse it (it then proves nothing). */
function parsedCertificate(identity: PublicKeyEntry): X509Certificate | undefined {
  try {
    return identity.certificate;
  } catch {
    return undefined;
  }
}

function remember(cache: Map<string, boolean>, key: string, verdict: boolean): void {
  if (cache.size >= MAX_CACHED_NAMES) cache.clear();
  cache.set(key, verdict);
}
