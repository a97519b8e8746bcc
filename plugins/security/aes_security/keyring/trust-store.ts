/**
 * Whose public keys we trust: the keys of `<dir>/<name>.pem` (one or more; a message names the one it was signed
 * with by key id), keys learned from the network (send_pubkey + learn_pubkeys), revocation, and the CA check that
 * gates every key when `ca_cert` is set. `resolve` is the one place a sender's key is found, for requests, replies,
 * registrations and learning alike.
 */
import { CaRejectedError, MalformedMessageError, RevokedKeyError, UnknownSenderError } from '../../../../src/errors.js';
import type { Counters, Logger } from '../../../../src/inter/logger.js';
import { publicKeyPath } from '../../../../src/keys/layout.js';
import type { CertificateAuthority } from './authority.js';
import { KeyFileCache } from './file-cache.js';
import { Learner } from './learning.js';
import { commonNameOf, parseKeySet, parseSingleKey, type KeySet, type PublicKeyEntry } from './public-key.js';
import type { Revocation } from './revocation.js';

/** How a trust store behaves. */
export interface TrustOptions {
  /** The certificate directory; undefined means no keys can be found (every sender is unknown). */
  dir: string | undefined;
  learn: boolean;
  insecureLearning: boolean;
  authority: CertificateAuthority;
  revocation: Revocation;
  recheckMs: number;
  now: () => number;
  logger: Logger;
  counters: Counters;
}

/** A resolved sender key; `commit` stores a key learned from the message, to be called once its signature verified. */
export interface ResolvedKey {
  entry: PublicKeyEntry;
  commit?: () => void;
}

/** Resolves and (optionally) learns the public keys of message senders. */
export class TrustStore {
  private readonly keys: KeyFileCache<KeySet>;
  private readonly learner: Learner;
  /** Key sets found wholly revoked but installed (not learned): not moved aside, and not looked at again. */
  private readonly revokedInstalled = new WeakSet<KeySet>();
  /** name -> `<dir>/<name>.pem` (or null for an invalid name): path arithmetic is not free on the hot path. */
  private readonly paths = new Map<string, string | null>();

  constructor(private readonly options: TrustOptions) {
    this.keys = new KeyFileCache((text, path) => parseKeySet(text, path), options.recheckMs, options.now);
    this.learner = new Learner(options);
  }

  /** Drops cached keys so the next lookup re-reads the files. */
  reload(): void {
    this.keys.clear();
  }

  /**
   * The key of sender `name` with key id `kid` (undefined: the first usable key of the name, for a protocol whose
   * messages name no key id). Looks in the directory first; an installed or learned key is never replaced by a
   * network one. Falls back to the key attached to the message when learning is on and the CA (or
   * insecure_learning, for a name with no file) allows it. Throws UnknownSenderError, RevokedKeyError,
   * CaRejectedError or MalformedMessageError.
   */
  resolve(name: string, kid: string | undefined, attachedPem: string | undefined, senderid: string): ResolvedKey {
    const { dir, revocation, authority } = this.options;
    if (dir === undefined) throw new UnknownSenderError(`no key directory is configured, so sender ${name} cannot be authenticated`);
    const path = this.pathFor(dir, name);
    if (path === null) throw new UnknownSenderError(`sender name ${JSON.stringify(name)} is not a valid key name ([\\w.-]+)`);
    let set: KeySet | null;
    try {
      set = this.keys.get(path);
    } catch (error) {
      throw new UnknownSenderError(`key file for ${name} is unusable: ${(error as Error).message}`, { cause: error });
    }
    if (set && !this.revokedInstalled.has(set) && set.entries.every((entry) => revocation.reason(entry) !== null)) {
      if (this.learner.setAsideRevoked(dir, path, name, set)) {
        this.keys.clear(path);
        set = null;
      } else {
        this.revokedInstalled.add(set);
      }
    }
    if (set) {
      const entry = kid === undefined ? set.entries.find((e) => revocation.reason(e) === null) ?? set.entries[0]! : set.get(kid);
      if (entry) {
        revocation.check(entry, name);
        authority.check(entry, name, path);
        return { entry };
      }
      const kidText = kid as string;
      if (revocation.kidRevoked(kidText)) throw new RevokedKeyError(`${name}: key ${kidText} is revoked (listed in plugin.aes.revoked_keys)`);
      if (attachedPem !== undefined && this.options.learn && authority.configured) return this.learn(dir, path, name, kid, attachedPem, senderid, set);
      throw new UnknownSenderError(`message from ${name} is signed by key id ${kidText}, which ${path} does not hold (it holds ${set.kids().join(', ')}): ` +
        'a retired key, or a new key not yet installed' + (this.options.learn ? '; a further key of a known name is learned only as a certificate plugin.aes.ca_cert signed' : ''));
    }
    if (attachedPem === undefined) {
      throw new UnknownSenderError(`no public key for ${name} in ${dir} and the message carries none (sender has send_pubkey = 0)`);
    }
    if (!this.options.learn) {
      throw new UnknownSenderError(`no public key for ${name} in ${dir}; the message carries one but learn_pubkeys = 0`);
    }
    return this.learn(dir, path, name, kid, attachedPem, senderid, null);
  }

  /** Checks a key attached to a message for learning; its `commit` stores it once the message's signature verified. */
  private learn(dir: string, path: string, name: string, kid: string | undefined, attachedPem: string, senderid: string, known: KeySet | null): ResolvedKey {
    const { revocation, authority } = this.options;
    let attached: PublicKeyEntry;
    try {
      attached = parseSingleKey(attachedPem, `public key attached by ${senderid}`);
    } catch (error) {
      throw new MalformedMessageError((error as Error).message, { cause: error });
    }
    if (kid !== undefined && attached.kid !== kid) {
      throw new UnknownSenderError(`attached key of ${name} has key id ${attached.kid}, but the message names key id ${kid}`);
    }
    // A revoked key is never learned, whoever vouches for it.
    revocation.check(attached, name);
    let certificateName: string | null = null;
    try {
      certificateName = attached.certificate ? commonNameOf(attached.certificate) : null;
    } catch (error) {
      throw new MalformedMessageError((error as Error).message, { cause: error });
    }
    if (attached.isCertificate && certificateName !== name) {
      throw new CaRejectedError(`attached certificate's CN ${JSON.stringify(certificateName)} does not match callerid name ${JSON.stringify(name)}`);
    }
    let verifiedBy: 'ca' | 'insecure_learning';
    if (authority.configured) {
      authority.check(attached, name, 'attached certificate');
      verifiedBy = 'ca';
    } else if (this.options.insecureLearning) {
      verifiedBy = 'insecure_learning';
    } else {
      throw new CaRejectedError(`refusing to learn the key of ${name}: set plugin.aes.ca_cert, or plugin.aes.insecure_learning = 1 to accept any key`);
    }
    return {
      entry: attached,
      commit: () => {
        if (this.learner.store(dir, path, name, attached, { senderid, verifiedBy }, known)) this.keys.clear(path);
      },
    };
  }

  private pathFor(dir: string, name: string): string | null {
    let path = this.paths.get(name);
    if (path === undefined) {
      path = publicKeyPath(dir, name);
      if (this.paths.size >= 10000) this.paths.clear();
      this.paths.set(name, path);
    }
    return path;
  }
}
