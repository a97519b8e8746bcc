/**
 * Key files read once and kept: a cache that re-reads a file only when it changed (checked at most every
 * `key_recheck_interval`), so the per-message path never parses a file; and the permission and passphrase rules of
 * private key files.
 */
import { readFileSync, statSync, type Stats } from 'node:fs';
import { KeyFileError } from '../../../../src/errors.js';

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

/** Throws KeyFileError when a secret file is accessible by group or others. */
export function checkPrivateFileMode(path: string, stats: Stats, what: string): void {
  if ((stats.mode & 0o077) !== 0) {
    const mode = (stats.mode & 0o777).toString(8).padStart(4, '0');
    throw new KeyFileError(`${what} ${path} is accessible by group or others (mode ${mode}); run: chmod 600 ${path}`);
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
