/** This side's own key pair (client_private/client_public or server_private/server_public), cached per file version. */
import { KeyFileError } from '../../../src/errors.js';
import {
  KeyFileCache, checkPrivateFileMode, parsePrivateIdentity, parsePublicFile, readPassphraseFile,
  type PrivateIdentity, type PublicIdentity,
} from './keys.js';
import type { AesSettings } from './settings.js';

/** A loaded own key pair whose halves are known to belong together. */
export interface OwnKeyPair {
  readonly privateKey: PrivateIdentity;
  readonly publicKey: PublicIdentity;
}

/** Loads our key pair on first use and whenever either file changes. */
export class OwnIdentity {
  private readonly privateFiles: KeyFileCache<PrivateIdentity>;
  private readonly publicFiles: KeyFileCache<PublicIdentity>;

  constructor(private readonly settings: AesSettings, now: () => number) {
    this.privateFiles = new KeyFileCache((text, path, stats) => {
      checkPrivateFileMode(path, stats, 'private key');
      const passphrase = settings.passphraseFile === undefined ? undefined : readPassphraseFile(settings.passphraseFile);
      return parsePrivateIdentity(text, path, passphrase);
    }, settings.keyRecheckMs, now);
    this.publicFiles = new KeyFileCache(parsePublicFile, settings.keyRecheckMs, now);
  }

  /** The key pair; throws KeyFileError naming the setting and file when it is missing, unreadable or mismatched. */
  get(): OwnKeyPair {
    const { privateKeyPath, publicKeyPath, privateKeyKey, publicKeyKey } = this.settings;
    if (privateKeyPath === undefined) throw new KeyFileError(`${privateKeyKey} is not set`);
    if (publicKeyPath === undefined) throw new KeyFileError(`${publicKeyKey} is not set`);
    const privateKey = this.privateFiles.get(privateKeyPath);
    if (!privateKey) throw new KeyFileError(`${privateKeyKey}: ${privateKeyPath} does not exist`);
    const publicKey = this.publicFiles.get(publicKeyPath);
    if (!publicKey) throw new KeyFileError(`${publicKeyKey}: ${publicKeyPath} does not exist`);
    if (privateKey.kid !== publicKey.kid) {
      throw new KeyFileError(`${privateKeyKey} (${privateKeyPath}) and ${publicKeyKey} (${publicKeyPath}) are not the same key pair`);
    }
    return { privateKey, publicKey };
  }

  /** Forgets cached keys (SIGHUP). */
  reload(): void {
    this.privateFiles.clear();
    this.publicFiles.clear();
  }
}
