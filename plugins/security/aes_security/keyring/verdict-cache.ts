/**
 * The persistent CA verdict cache (`plugin.aes.verdict_cache`): a client meets every replying server's certificate
 * cold on each run, and parsing and verifying it against the CA costs ten times a bare key. A certificate that passed
 * the CA check (signed by the CA, CN = the name) is recorded here, keyed by SHA-256 of its DER, the name and SHA-256
 * of the CA certificate's DER, with its serial and validity window; the next run trusts the record instead of
 * parsing. Revocation and the validity windows are still checked on every use; negative verdicts are never stored.
 *
 * File layout: one header line `tscollective-ca-verdicts 1 <HMAC-SHA256 hex>`, then a JSON body
 * `{"ca": <CA digest>, "entries": [[certDigest, name, serial, validFrom, validTo, fromMs, toMs], ...]}`. The MAC
 * covers the header's first words and the body, under a key derived from our own private key: only someone who can
 * read that key can write a file we accept. A file that fails the MAC, is malformed, too large, or was written for
 * another CA is ignored (counted, one rate-limited warning) and rewritten at the next flush.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { closeSync, fstatSync, mkdirSync, openSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Counters, Logger } from '../../../../src/inter/logger.js';
import { LogLimiter } from '../../../../src/util/log-limiter.js';
import { readOpenFile } from '../../../../src/util/read-file.js';
import type { VerdictCacheLocation } from '../settings.js';
import type { PrivateKey } from './own-keys.js';

/** Largest verdict cache file read (checked before reading). */
export const VERDICT_CACHE_MAX_BYTES = 64 * 1024 * 1024;
/** Most verdicts kept (the oldest recorded is dropped first). */
export const VERDICT_CACHE_MAX_ENTRIES = 100_000;
/** Quiet milliseconds after the last new verdict before the file is written (the end of a decode burst). */
export const VERDICT_CACHE_DEBOUNCE_MS = 500;
/** Longest a new verdict waits for the file to be written while verdicts keep coming. */
export const VERDICT_CACHE_MAX_DELAY_MS = 5000;

const MAGIC = 'tscollective-ca-verdicts 1';
const MAC_LABEL = 'tscollective ca verdict cache v1\0';
const HEX64 = /^[0-9a-f]{64}$/;
const SERIAL = /^[0-9a-f]{1,128}$/;

/** What the CA check needs of a certificate it verified before: its serial and validity window. */
export interface CachedVerdict {
  readonly serial: string;
  readonly validFrom: string;
  readonly validTo: string;
  readonly from: number;
  readonly to: number;
}

/** How a verdict cache is set up. */
export interface VerdictCacheOptions {
  /** Where the file is; undefined: off. */
  location: VerdictCacheLocation | undefined;
  /** False for tools that only inspect (tsco decode): the file is read, never written. */
  writable: boolean;
  /** Our own private key (the MAC key is derived from it); throws when it is unusable, which turns the cache off. */
  ownKey: () => PrivateKey;
  now: () => number;
  logger: Logger;
  counters: Counters;
}

/** Caches with unwritten verdicts, written when the process exits (a client run rarely outlives the debounce). */
const unwritten = new Set<VerdictCache>();
let exitHooked = false;

/** Positive CA verdicts, loaded lazily from the file and written back in batches. */
export class VerdictCache {
  private state: 'unloaded' | 'loaded' | 'off' = 'unloaded';
  private file = '';
  private macKey: Buffer = Buffer.alloc(0);
  /** The CA whose verdicts `entries` holds. */
  private ca = '';
  private readonly entries = new Map<string, CachedVerdict>();
  private readonly limiter: LogLimiter;
  private timer: NodeJS.Timeout | undefined;
  private firstUnwrittenAt = 0;
  private lastRecordedAt = 0;

  constructor(private readonly options: VerdictCacheOptions) {
    this.limiter = new LogLimiter(options.logger, { now: options.now });
    if (!options.location) this.state = 'off';
  }

  /** The file in use once loaded (the per-key default needs our key id); undefined before or when off. */
  get path(): string | undefined {
    return this.state === 'loaded' ? this.file : undefined;
  }

  /** The recorded verdict of certificate `cert` (DER digest) for `name` under CA `ca` (DER digest), or undefined. */
  get(ca: string, cert: string, name: string): CachedVerdict | undefined {
    if (!this.ready(ca)) return undefined;
    const verdict = this.entries.get(`${cert}\0${name}`);
    this.options.counters.increment(verdict ? 'security.ca_verdict_cache_hit' : 'security.ca_verdict_cache_miss');
    return verdict;
  }

  /** Records a positive verdict; the file is written once the burst of new verdicts is over. */
  record(ca: string, cert: string, name: string, verdict: CachedVerdict): void {
    if (!this.options.writable || !this.ready(ca)) return;
    const key = `${cert}\0${name}`;
    if (!this.entries.has(key) && this.entries.size >= VERDICT_CACHE_MAX_ENTRIES) this.entries.delete(this.entries.keys().next().value as string);
    this.entries.set(key, verdict);
    this.schedule();
  }

  /** Writes unwritten verdicts now (close, process exit). */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (!unwritten.delete(this)) return;
    this.write();
  }

  /** Writes what is unwritten and reads the file again on next use (SIGHUP: our key, so the file, may have changed). */
  reload(): void {
    this.flush();
    if (this.state === 'loaded') this.state = 'unloaded';
    this.entries.clear();
  }

  private ready(ca: string): boolean {
    if (this.state === 'unloaded') this.load(ca);
    if (this.state !== 'loaded') return false;
    if (ca !== this.ca) {
      // The CA changed under us: verdicts of the old one are worthless, and the file is rewritten for the new one.
      this.entries.clear();
      this.ca = ca;
    }
    return true;
  }

  private load(ca: string): void {
    const location = this.options.location!;
    let key: PrivateKey;
    try {
      key = this.options.ownKey();
    } catch {
      // Without our key nothing can be authenticated; the provider reports the key itself.
      this.state = 'off';
      return;
    }
    this.file = location.perKey ? join(location.path, `${key.kid}.json`) : location.path;
    this.macKey = createHash('sha256').update(MAC_LABEL).update(key.key.export({ format: 'der', type: 'pkcs8' })).digest();
    this.ca = ca;
    this.state = 'loaded';
    let bytes: Buffer | null;
    try {
      bytes = readBounded(this.file);
    } catch (error) {
      this.ignore((error as Error).message);
      return;
    }
    if (bytes === null) return;
    const problem = this.adopt(bytes, ca);
    if (problem) this.ignore(problem);
  }

  /** Takes the file's verdicts, or says why it cannot be used (nothing is taken then). */
  private adopt(bytes: Buffer, ca: string): string | null {
    const newline = bytes.indexOf(0x0a);
    const header = newline < 0 ? '' : bytes.toString('latin1', 0, newline);
    if (!header.startsWith(`${MAGIC} `)) return `not a verdict cache (its first line is not "${MAGIC} <mac>")`;
    const mac = Buffer.from(header.slice(MAGIC.length + 1), 'hex');
    const body = bytes.subarray(newline + 1);
    const expected = this.mac(body);
    if (mac.length !== expected.length || !timingSafeEqual(mac, expected)) return 'its MAC does not match: written with another private key, or altered';
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.toString('utf8'));
    } catch (error) {
      return `its body is not JSON (${(error as Error).message})`;
    }
    const { ca: fileCa, entries } = (parsed ?? {}) as { ca?: unknown; entries?: unknown };
    if (typeof fileCa !== 'string' || !Array.isArray(entries)) return 'its body has no "ca" and "entries"';
    if (fileCa !== ca) return 'it was written for another CA certificate';
    if (entries.length > VERDICT_CACHE_MAX_ENTRIES) return `it holds ${entries.length} verdicts, more than ${VERDICT_CACHE_MAX_ENTRIES}`;
    const taken = new Map<string, CachedVerdict>();
    for (const [index, row] of entries.entries()) {
      if (!isRow(row)) return `verdict ${index + 1} is malformed`;
      const [cert, name, serial, validFrom, validTo, from, to] = row;
      taken.set(`${cert}\0${name}`, { serial, validFrom, validTo, from, to });
    }
    for (const [key, verdict] of taken) this.entries.set(key, verdict);
    return null;
  }

  private schedule(): void {
    const now = Date.now();
    this.lastRecordedAt = now;
    if (this.timer) return;
    this.firstUnwrittenAt = now;
    if (!exitHooked) {
      exitHooked = true;
      process.on('exit', () => { for (const cache of [...unwritten]) cache.flush(); });
    }
    unwritten.add(this);
    this.arm(VERDICT_CACHE_DEBOUNCE_MS);
  }

  private arm(delay: number): void {
    this.timer = setTimeout(() => {
      this.timer = undefined;
      const now = Date.now();
      const quiet = now - this.lastRecordedAt;
      if (quiet < VERDICT_CACHE_DEBOUNCE_MS && now - this.firstUnwrittenAt < VERDICT_CACHE_MAX_DELAY_MS) this.arm(VERDICT_CACHE_DEBOUNCE_MS - quiet);
      else this.flush();
    }, delay);
    this.timer.unref();
  }

  private write(): void {
    const now = this.options.now();
    const rows: unknown[] = [];
    for (const [key, verdict] of this.entries) {
      if (verdict.to < now) {
        this.entries.delete(key);
        continue;
      }
      rows.push([key.slice(0, 64), key.slice(65), verdict.serial, verdict.validFrom, verdict.validTo, verdict.from, verdict.to]);
    }
    const body = Buffer.from(JSON.stringify({ ca: this.ca, entries: rows }), 'utf8');
    const temp = `${this.file}.${process.pid}.tmp`;
    try {
      mkdirSync(dirname(this.file), { recursive: true, mode: 0o700 });
      try { unlinkSync(temp); } catch { /* none left by a crash */ }
      writeFileSync(temp, Buffer.concat([Buffer.from(`${MAGIC} ${this.mac(body).toString('hex')}\n`, 'latin1'), body]), { mode: 0o600, flag: 'wx' });
      renameSync(temp, this.file);
    } catch (error) {
      try { unlinkSync(temp); } catch { /* never created */ }
      this.options.counters.increment('security.ca_verdict_cache_write_failed');
      this.limiter.log('warn', 'ca_verdict_cache_write_failed', { path: this.file },
        `plugin.aes.verdict_cache ${this.file} cannot be written (${(error as Error).message}); certificates are verified against the CA on every run`);
    }
  }

  private mac(body: Uint8Array): Buffer {
    return createHmac('sha256', this.macKey).update(`${MAGIC}\n`).update(body).digest();
  }

  private ignore(why: string): void {
    this.options.counters.increment('security.ca_verdict_cache_ignored');
    this.limiter.log('warn', 'ca_verdict_cache_ignored', { path: this.file },
      `plugin.aes.verdict_cache ${this.file} is ignored (${why}); certificates are verified against the CA and the file is rewritten`);
  }
}

type Row = [string, string, string, string, string, number, number];

function isRow(row: unknown): row is Row {
  if (!Array.isArray(row) || row.length !== 7) return false;
  const [cert, name, serial, validFrom, validTo, from, to] = row as unknown[];
  return typeof cert === 'string' && HEX64.test(cert) && typeof name === 'string' && name.length > 0 && name.length <= 255 && !name.includes('\0')
    && typeof serial === 'string' && SERIAL.test(serial) && typeof validFrom === 'string' && validFrom.length <= 64
    && typeof validTo === 'string' && validTo.length <= 64 && Number.isFinite(from) && Number.isFinite(to);
}

/** The file's bytes, null when it does not exist; throws when it is not a regular file or is too large to be ours. */
function readBounded(path: string): Buffer | null {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return null;
    throw new Error(`it cannot be opened: ${(error as Error).message}`, { cause: error });
  }
  try {
    const stats = fstatSync(fd);
    if (!stats.isFile()) throw new Error('it is not a regular file');
    if (stats.size > VERDICT_CACHE_MAX_BYTES) throw new Error(`it is ${stats.size} bytes, more than the ${VERDICT_CACHE_MAX_BYTES} a verdict cache may hold`);
    return readOpenFile(fd, stats.size);
  } finally {
    closeSync(fd);
  }
}
