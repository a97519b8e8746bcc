/**
 * Key files read once and kept: a cache that re-reads a file only when it changed (checked at most every
 * `key_recheck_interval`), so the per-message path never parses a file; and the permission and passphrase rules of
 * private key files.
 */
import { closeSync, fstatSync, openSync, readFileSync, statSync, type Stats } from 'node:fs';
import { KeyFileError } from '../../../../src/errors.js';
import { readOpenFile } from '../../../../src/util/read-file.js';

/** Largest file the cache reads (key files, the CA, a CRL, a revocation list, the identity map): bounded before reading. */
export const MAX_KEY_FILE_BYTES = 64 * 1024 * 1024;

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
    // A file never seen is opened, stat()ed and read through one descriptor: a client meets every server's key cold.
    if (!entry) return this.readCold(path, now);
    let stats: Stats;
    try {
      stats = statSync(path);
    } catch (error) {
      return this.result(this.missing(path, now, error));
    }
    const signature = `${stats.ino}:${stats.size}:${stats.mtimeMs}`;
    if (entry && entry.signature === signature) {
      entry.checkedAt = now;
      return this.result(entry);
    }
    const fresh: CacheEntry<T> = { checkedAt: now, signature, value: null };
    try {
      if (stats.size > MAX_KEY_FILE_BYTES) throw new KeyFileError(`${path}: ${stats.size} bytes; a key file holds at most ${MAX_KEY_FILE_BYTES}`);
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

  private readCold(path: string, now: number): T | null {
    let fd: number;
    try {
      fd = openSync(path, 'r');
    } catch (error) {
      return this.result(this.missing(path, now, error));
    }
    const fresh: CacheEntry<T> = { checkedAt: now, signature: 'error', value: null };
    try {
      const stats = fstatSync(fd);
      fresh.signature = `${stats.ino}:${stats.size}:${stats.mtimeMs}`;
      if (stats.size > MAX_KEY_FILE_BYTES) throw new KeyFileError(`${path}: ${stats.size} bytes; a key file holds at most ${MAX_KEY_FILE_BYTES}`);
      fresh.value = this.parse(readOpenFile(fd, stats.size).toString('utf8'), path, stats);
    } catch (error) {
      fresh.error = error instanceof KeyFileError ? error : new KeyFileError(`${path}: ${(error as Error).message}`, { cause: error });
    } finally {
      closeSync(fd);
    }
    this.store(path, fresh);
    return this.result(fresh);
  }

  private missing(path: string, now: number, error: unknown): CacheEntry<T> {
    const code = (error as NodeJS.ErrnoException).code;
    const entry: CacheEntry<T> = code === 'ENOENT' || code === 'ENOTDIR'
      ? { checkedAt: now, signature: 'missing', value: null }
      : { checkedAt: now, signature: 'error', value: null, error: new KeyFileError(`cannot read ${path}: ${(error as Error).message}`, { cause: error }) };
    this.store(path, entry);
    return entry;
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
