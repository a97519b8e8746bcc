/**
 * This side's own signing key: the private key file (client_private or server_private) and its public file
 * (client_public or server_public), which may hold several keys after a rotation. The key that signs is the
 * private key; its public half must be one of the public file's keys, and that one (the active key) is what a
 * message names as its key id and sends with send_pubkey. Both files are re-read when they change.
 */
import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { KeyFileError } from '../../../../src/errors.js';
import { keyIdOfSpki, keyTypeOf, type KeyType } from '../../../../src/keys/key-types.js';
import { nameFromKeyPath } from '../../../../src/keys/layout.js';
import { NAME_RULES, isName } from '../../../../src/names.js';
import type { AesSettings } from '../settings.js';
import { KeyFileCache, checkPrivateFileMode, readPassphraseFile } from './file-cache.js';
import { commonNameOf, parseKeySet, type KeySet, type PublicKeyEntry } from './public-key.js';

/** A parsed private key with its type and the key id of its public half. */
export interface PrivateKey {
  readonly key: KeyObject;
  readonly type: KeyType;
  readonly bits: number;
  readonly kid: string;
}

/** A loaded own key pair whose halves are known to belong together. */
export interface OwnKeyPair {
  readonly privateKey: PrivateKey;
  /** The public file's key that matches the private key. */
  readonly publicKey: PublicKeyEntry;
  /** The callerid name: the active certificate's CN, else the public file's basename without `.pem`. */
  readonly name: string;
}

/** Parses a private key PEM; `passphrase` is required when the key is encrypted. */
export function parsePrivateKey(pem: string, source: string, passphrase?: string): PrivateKey {
  let key: KeyObject;
  try {
    key = createPrivateKey(passphrase === undefined ? pem : { key: pem, passphrase });
  } catch (error) {
    const message = (error as Error).message;
    if (passphrase === undefined && /passphrase|encrypted|bad decrypt/i.test(message + pem.slice(0, 64))) {
      throw new KeyFileError(`${source}: private key is encrypted; configure its passphrase file`, { cause: error });
    }
    throw new KeyFileError(`${source}: cannot read private key (${message})`, { cause: error });
  }
  const shape = keyTypeOf(key);
  if ('problem' in shape) throw new KeyFileError(`${source}: ${shape.problem}`);
  return { key, type: shape.type, bits: shape.bits, kid: keyIdOfSpki(createPublicKey(key).export({ format: 'der', type: 'spki' })) };
}

/** Loads our key pair on first use and whenever either file changes. */
export class OwnKeys {
  private readonly privateFiles: KeyFileCache<PrivateKey>;
  private readonly publicFiles: KeyFileCache<KeySet>;
  private last: { privateKey: PrivateKey; publicSet: KeySet; pair: OwnKeyPair } | undefined;

  constructor(private readonly settings: AesSettings, now: () => number) {
    this.privateFiles = new KeyFileCache((text, path, stats) => {
      checkPrivateFileMode(path, stats, 'private key');
      const passphrase = settings.passphraseFile === undefined ? undefined : readPassphraseFile(settings.passphraseFile);
      return parsePrivateKey(text, path, passphrase);
    }, settings.keyRecheckMs, now);
    this.publicFiles = new KeyFileCache((text, path) => parseKeySet(text, path), settings.keyRecheckMs, now);
  }

  /** The key pair; throws KeyFileError naming the setting and file when it is missing, unreadable or mismatched. */
  get(): OwnKeyPair {
    const { privateKeyPath, publicKeyPath, privateKeyKey, publicKeyKey } = this.settings;
    if (privateKeyPath === undefined) throw new KeyFileError(`${privateKeyKey} is not set`);
    if (publicKeyPath === undefined) throw new KeyFileError(`${publicKeyKey} is not set`);
    const privateKey = this.privateFiles.get(privateKeyPath);
    if (!privateKey) throw new KeyFileError(`${privateKeyKey}: ${privateKeyPath} does not exist`);
    const publicSet = this.publicFiles.get(publicKeyPath);
    if (!publicSet) throw new KeyFileError(`${publicKeyKey}: ${publicKeyPath} does not exist`);
    const last = this.last;
    if (last && last.privateKey === privateKey && last.publicSet === publicSet) return last.pair;
    const publicKey = publicSet.get(privateKey.kid);
    if (!publicKey) {
      throw new KeyFileError(`${privateKeyKey} (${privateKeyPath}, key id ${privateKey.kid}) and ${publicKeyKey} (${publicKeyPath}, key ids ${publicSet.kids().join(', ')}) are not the same key pair`);
    }
    const pair: OwnKeyPair = { privateKey, publicKey, name: ownName(publicKey, publicKeyPath) };
    this.last = { privateKey, publicSet, pair };
    return pair;
  }

  /** Forgets cached keys (SIGHUP). */
  reload(): void {
    this.privateFiles.clear();
    this.publicFiles.clear();
    this.last = undefined;
  }
}

function ownName(active: PublicKeyEntry, path: string): string {
  const certificate = active.certificate;
  const name = certificate ? commonNameOf(certificate) : nameFromKeyPath(path);
  if (name === null) throw new KeyFileError(`${path}: certificate has no CN in its subject (${certificate!.subject})`);
  if (!isName('keyName', name)) throw new KeyFileError(`${path}: identity name ${JSON.stringify(name)} is not a valid key name (${NAME_RULES.keyName.description})`);
  return name;
}
