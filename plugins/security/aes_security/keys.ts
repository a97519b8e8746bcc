/**
 * Key files: parsing RSA public keys, X.509 certificates and (optionally passphrase-protected) private keys,
 * with a cache that re-reads a file only when it changed. Parsing a PEM costs about as much as the RSA
 * operation it feeds, so the per-message path must never do it.
 */
import { createPrivateKey, createPublicKey, X509Certificate, type KeyObject } from 'node:crypto';
import { readFileSync, statSync, type Stats } from 'node:fs';
import { KeyFileError } from '../../../src/errors.js';
import { isValidName, nameFromKeyPath } from './names.js';
import { sha256 } from './primitives.js';
import { NAME_RULES } from '../../../src/names.js';

/** Smallest RSA modulus accepted for any key. */
export const MIN_RSA_BITS = 2048;

/** A parsed public key (or certificate) and what identifies it. */
export interface PublicIdentity {
  /** The callerid name: the certificate's CN, else the file's basename without `.pem`. */
  readonly name: string;
  readonly key: KeyObject;
  /** Key id: the first 16 bytes of SHA-256 over the SubjectPublicKeyInfo DER, hex. */
  readonly kid: string;
  /** The file's PEM text, as sent with send_pubkey. */
  readonly pem: string;
  /** Present when the file is an X.509 certificate. */
  readonly certificate?: X509Certificate;
}

/** A parsed private key with its public half. */
export interface PrivateIdentity {
  readonly key: KeyObject;
  /** Key id of the public half, to check it matches the configured public key file. */
  readonly kid: string;
}

/** The key id of a public key: SHA-256 of its SPKI DER, first 16 bytes, hex. */
export function keyIdOf(key: KeyObject): string {
  return sha256(key.export({ format: 'der', type: 'spki' })).subarray(0, 16).toString('hex');
}

/** The CN of a certificate's subject, or null. */
export function commonNameOf(certificate: X509Certificate): string | null {
  for (const line of certificate.subject.split('\n')) {
    if (line.startsWith('CN=')) return line.slice(3);
  }
  return null;
}

function checkRsa(key: KeyObject, source: string): void {
  if (key.asymmetricKeyType !== 'rsa') {
    throw new KeyFileError(`${source}: expected an RSA key, got ${key.asymmetricKeyType ?? 'unknown'}`);
  }
  const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
  if (bits < MIN_RSA_BITS) throw new KeyFileError(`${source}: RSA key has ${bits} bits; at least ${MIN_RSA_BITS} are required`);
}

/**
 * Parses public key PEM text or an X.509 certificate. `fallbackName` is used when the text is not a certificate
 * (the MCollective rule: the file's basename); a certificate's CN always wins.
 */
export function parsePublicIdentity(pem: string, source: string, fallbackName: string): PublicIdentity {
  let key: KeyObject;
  let certificate: X509Certificate | undefined;
  let name = fallbackName;
  try {
    if (pem.includes('-----BEGIN CERTIFICATE-----')) {
      certificate = new X509Certificate(pem);
      key = certificate.publicKey;
      const cn = commonNameOf(certificate);
      if (cn === null) throw new KeyFileError(`${source}: certificate has no CN in its subject (${certificate.subject})`);
      name = cn;
    } else {
      key = createPublicKey(pem);
    }
  } catch (error) {
    if (error instanceof KeyFileError) throw error;
    throw new KeyFileError(`${source}: not a PEM public key or X.509 certificate (${(error as Error).message})`, { cause: error });
  }
  checkRsa(key, source);
  if (!isValidName(name)) throw new KeyFileError(`${source}: identity name ${JSON.stringify(name)} is not a valid key name (${NAME_RULES.keyName.description})`);
  return { name, key, kid: keyIdOf(key), pem, ...(certificate ? { certificate } : {}) };
}

/** Throws KeyFileError when a secret file is accessible by group or others. */
export function checkPrivateFileMode(path: string, stats: Stats, what: string): void {
  if ((stats.mode & 0o077) !== 0) {
    const mode = (stats.mode & 0o777).toString(8).padStart(4, '0');
    throw new KeyFileError(`${what} ${path} is accessible by group or others (mode ${mode}); run: chmod 600 ${path}`);
  }
}

/** Parses a private key PEM; `passphrase` is required when the key is encrypted. */
export function parsePrivateIdentity(pem: string, source: string, passphrase?: string): PrivateIdentity {
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
  checkRsa(key, source);
  return { key, kid: keyIdOf(createPublicKey(key)) };
}

interface CacheEntry<T> {
  checkedAt: number;
  signature: string;
  value: T | null;
  error?: KeyFileError;
}

/**
 * Caches one parsed value per file path. A file is stat()ed at most once per `recheckMs`; it is parsed again
 * only when its inode, size or mtime changed. Missing files and parse failures are cached the same way, so a
 * flood of messages naming an unknown or broken key costs no I/O per message.
 */
export class KeyFileCache<T> {
  private readonly entries = new Map<string, CacheEntry<T>>();

  constructor(
    private readonly parse: (text: string, path: string, stats: Stats) => T,
    private readonly recheckMs: number,
    private readonly now: () => number,
    private readonly maxEntries = 10000,
  ) {}

  /** The parsed file, null when it does not exist; throws the (cached) KeyFileError when it cannot be parsed. */
  get(path: string): T | null {
    const now = this.now();
    const entry = this.entries.get(path);
    if (entry && now - entry.checkedAt < this.recheckMs) return this.result(entry);
    let stats: Stats;
    try {
      stats = statSync(path);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      const missing: CacheEntry<T> = code === 'ENOENT' || code === 'ENOTDIR'
        ? { checkedAt: now, signature: 'missing', value: null }
        : { checkedAt: now, signature: 'error', value: null, error: new KeyFileError(`cannot stat ${path}: ${(error as Error).message}`, { cause: error }) };
      this.store(path, missing);
      return this.result(missing);
    }
    const signature = `${stats.ino}:${stats.size}:${stats.mtimeMs}`;
    if (entry && entry.signature === signature) {
      entry.checkedAt = now;
      return this.result(entry);
    }
    const fresh: CacheEntry<T> = { checkedAt: now, signature, value: null };
    try {
      fresh.value = this.parse(readFileSync(path, 'utf8'), path, stats);
    } catch (error) {
      fresh.error = error instanceof KeyFileError ? error : new KeyFileError(`${path}: ${(error as Error).message}`, { cause: error });
    }
    this.store(path, fresh);
    return this.result(fresh);
  }

  /** Forgets every entry (SIGHUP), or one path. */
  clear(path?: string): void {
    if (path === undefined) this.entries.clear();
    else this.entries.delete(path);
  }

  private store(path: string, entry: CacheEntry<T>): void {
    this.entries.delete(path);
    this.entries.set(path, entry);
    if (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value as string);
  }

  private result(entry: CacheEntry<T>): T | null {
    if (entry.error) throw entry.error;
    return entry.value;
  }
}

/** Reads a passphrase file (mode must be 0600 or stricter); the trailing newline is not part of the passphrase. */
export function readPassphraseFile(path: string): string {
  let stats: Stats;
  try {
    stats = statSync(path);
  } catch (error) {
    throw new KeyFileError(`passphrase file ${path}: ${(error as Error).message}`, { cause: error });
  }
  checkPrivateFileMode(path, stats, 'passphrase file');
  return readFileSync(path, 'utf8').replace(/\r?\n$/, '');
}

/** Loads a public identity file; the name falls back to the file's basename. */
export function parsePublicFile(text: string, path: string): PublicIdentity {
  return parsePublicIdentity(text, path, nameFromKeyPath(path));
}
