/**
 * The replay journal: a server's replay cache on disk, so that a restart does not forget which requests ran.
 *
 * File layout: a 16-byte header (`TSCRPJ01` and 8 zero bytes), then 32-byte records
 * `key (16) | msgtime (u48) | expiresAt (u48) | CRC-32 of the first 28 bytes`, integers big-endian. The key is a
 * fixed-size hash of (callerid, requestid), never the strings themselves. A record whose key is all zeros holds a
 * freshness floor in its msgtime field.
 *
 * Every append is one write() on an O_APPEND descriptor, so a process crash never leaves half a record; an
 * fdatasync follows within SYNC_DELAY_MS, for operating-system crashes. Compaction writes the live entries to a
 * temporary file, syncs it and renames it over the journal.
 */
import { closeSync, constants, fdatasyncSync, fstatSync, fsyncSync, ftruncateSync, mkdirSync, openSync, readSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { crc32 } from 'node:zlib';

/** Bytes of the file header. */
export const JOURNAL_HEADER_BYTES = 16;
/** Bytes of one record. */
export const JOURNAL_RECORD_BYTES = 32;
/** Bytes of a record's key (the hash of callerid and requestid). */
export const JOURNAL_KEY_BYTES = 16;
/** Milliseconds between an append and the fdatasync that makes it survive an operating-system crash. */
export const SYNC_DELAY_MS = 1000;

const MAGIC = Buffer.from('TSCRPJ01', 'latin1');
const HEADER = Buffer.concat([MAGIC, Buffer.alloc(JOURNAL_HEADER_BYTES - MAGIC.length)]);
const FLOOR_KEY = Buffer.alloc(JOURNAL_KEY_BYTES).toString('latin1');
const CRC_OFFSET = JOURNAL_RECORD_BYTES - 4;
const MAX_U48 = 2 ** 48 - 1;
/** Records read or written per system call. */
const BATCH_RECORDS = 2048;

/** What reading a journal found. */
export interface JournalLoad {
  /** Complete records in the file (entries, expired ones and floors included). */
  records: number;
  /** Unexpired entries handed to `onEntry`. */
  entries: number;
  /** The highest floor recorded, or null. */
  floor: number | null;
  /** What was wrong with the file (bad checksums, a partial record at the end), or null when it is intact. */
  damage: string | null;
}

/** How to open a journal. */
export interface JournalOpenOptions {
  /** Read an existing journal without creating, writing or compacting anything (tsco decode). */
  readOnly: boolean;
  /** Entries that expired at or before this time (epoch seconds) are skipped. */
  nowSeconds: number;
  /** Called for each unexpired entry, in the order they were written. */
  onEntry: (key: string, msgtime: number, expiresAt: number) => void;
}

/** Encodes one record into `out` (32 bytes) from a 16-character latin1 key. */
function encodeRecord(out: Buffer, offset: number, key: string, msgtime: number, expiresAt: number): void {
  out.write(key, offset, JOURNAL_KEY_BYTES, 'latin1');
  out.writeUIntBE(clampU48(msgtime), offset + 16, 6);
  out.writeUIntBE(clampU48(expiresAt), offset + 22, 6);
  out.writeUInt32BE(crc32(out.subarray(offset, offset + CRC_OFFSET)), offset + CRC_OFFSET);
}

function clampU48(value: number): number {
  return Math.min(MAX_U48, Math.max(0, Math.floor(value)));
}

/** An open replay journal. */
export class ReplayJournal {
  private size: number;
  private recordCount: number;
  private syncTimer: NodeJS.Timeout | undefined;
  private readonly scratch = Buffer.alloc(JOURNAL_RECORD_BYTES);

  private constructor(readonly path: string, private fd: number, load: JournalLoad) {
    this.recordCount = load.records;
    this.size = JOURNAL_HEADER_BYTES + load.records * JOURNAL_RECORD_BYTES;
  }

  /**
   * Opens the journal at `path` and reads it. A writable journal's directory is created (mode 0700) when
   * missing, and the file (mode 0600) too. Returns no journal when a read-only open finds no file. Throws when
   * the file cannot be opened, or exists and is not a replay journal (it is never overwritten then).
   */
  static open(path: string, options: JournalOpenOptions): { journal: ReplayJournal | undefined; load: JournalLoad } {
    if (!options.readOnly) mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    let fd: number;
    try {
      fd = openSync(path, options.readOnly ? constants.O_RDONLY : constants.O_RDWR | constants.O_CREAT | constants.O_APPEND, 0o600);
    } catch (error) {
      if (options.readOnly && (error as NodeJS.ErrnoException).code === 'ENOENT') {
        return { journal: undefined, load: { records: 0, entries: 0, floor: null, damage: null } };
      }
      throw error;
    }
    try {
      const load = readJournal(fd, path, options);
      if (options.readOnly) {
        closeSync(fd);
        return { journal: undefined, load };
      }
      const journal = new ReplayJournal(path, fd, load);
      if (fstatSync(fd).size < JOURNAL_HEADER_BYTES) {
        // A new file, or a header cut short by a crash: start it afresh.
        ftruncateSync(fd, 0);
        writeAll(fd, HEADER);
      } else {
        // A partial last record would misalign every record appended after it.
        journal.truncateTo(journal.size);
      }
      return { journal, load };
    } catch (error) {
      closeSync(fd);
      throw error;
    }
  }

  /** Records in the file. */
  get records(): number {
    return this.recordCount;
  }

  /** Appends one entry with a single write; the data reaches the disk within SYNC_DELAY_MS. */
  append(key: string, msgtime: number, expiresAt: number): void {
    if (this.fd < 0) throw new Error(`replay journal ${this.path} is closed after an earlier failure`);
    encodeRecord(this.scratch, 0, key, msgtime, expiresAt);
    try {
      const written = writeSync(this.fd, this.scratch, 0, JOURNAL_RECORD_BYTES);
      if (written !== JOURNAL_RECORD_BYTES) throw new Error(`short write (${written} of ${JOURNAL_RECORD_BYTES} bytes)`);
    } catch (error) {
      // A partial record would misalign every later one: cut it off before reporting.
      try { this.truncateTo(this.size); } catch { /* the load-time check finds it */ }
      throw error;
    }
    this.size += JOURNAL_RECORD_BYTES;
    this.recordCount++;
    this.scheduleSync();
  }

  /**
   * Replaces the file with `entries` (and the floor, when finite): written to `<path>.tmp`, synced, renamed over
   * the journal. On failure the current file stays in use.
   */
  compact(entries: Iterable<[key: string, msgtime: number, expiresAt: number]>, floor: number): void {
    const temp = `${this.path}.tmp`;
    const out = openSync(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC, 0o600);
    let records = 0;
    try {
      const batch = Buffer.alloc(BATCH_RECORDS * JOURNAL_RECORD_BYTES);
      let used = 0;
      const flush = () => { writeAll(out, batch.subarray(0, used)); used = 0; };
      writeAll(out, HEADER);
      const push = (key: string, msgtime: number, expiresAt: number) => {
        encodeRecord(batch, used, key, msgtime, expiresAt);
        used += JOURNAL_RECORD_BYTES;
        records++;
        if (used === batch.length) flush();
      };
      if (Number.isFinite(floor)) push(FLOOR_KEY, floor, 0);
      for (const [key, msgtime, expiresAt] of entries) push(key, msgtime, expiresAt);
      flush();
      fsyncSync(out);
    } catch (error) {
      closeSync(out);
      try { unlinkSync(temp); } catch { /* nothing to clean */ }
      throw error;
    }
    closeSync(out);
    renameSync(temp, this.path);
    syncDirectory(dirname(this.path));
    const previous = this.fd;
    this.fd = -1;
    closeSync(previous);
    this.fd = openSync(this.path, constants.O_RDWR | constants.O_APPEND);
    this.recordCount = records;
    this.size = JOURNAL_HEADER_BYTES + records * JOURNAL_RECORD_BYTES;
  }

  /** Syncs pending appends now. */
  sync(): void {
    if (this.syncTimer) clearTimeout(this.syncTimer);
    this.syncTimer = undefined;
    if (this.fd >= 0) fdatasyncSync(this.fd);
  }

  /** Syncs and closes the file. */
  close(): void {
    if (this.fd < 0) return;
    try { this.sync(); } finally {
      closeSync(this.fd);
      this.fd = -1;
    }
  }

  private scheduleSync(): void {
    if (this.syncTimer) return;
    this.syncTimer = setTimeout(() => {
      this.syncTimer = undefined;
      try { if (this.fd >= 0) fdatasyncSync(this.fd); } catch { /* the next append or compaction reports a failing disk */ }
    }, SYNC_DELAY_MS);
    this.syncTimer.unref();
  }

  private truncateTo(bytes: number): void {
    if (fstatSync(this.fd).size !== bytes) ftruncateSync(this.fd, bytes);
  }
}

/** Reads every record of an open journal; throws when the file is not a replay journal. */
function readJournal(fd: number, path: string, options: JournalOpenOptions): JournalLoad {
  const size = fstatSync(fd).size;
  const load: JournalLoad = { records: 0, entries: 0, floor: null, damage: null };
  const header = Buffer.alloc(JOURNAL_HEADER_BYTES);
  const headerBytes = readSync(fd, header, 0, JOURNAL_HEADER_BYTES, 0);
  if (!header.subarray(0, Math.min(headerBytes, MAGIC.length)).equals(MAGIC.subarray(0, Math.min(headerBytes, MAGIC.length)))) {
    throw new Error(`${path} exists and is not a replay journal (its first bytes are not "TSCRPJ01"); move it away or choose another path`);
  }
  if (size > 0 && size < JOURNAL_HEADER_BYTES) {
    load.damage = `the header is cut short at ${size} bytes`;
    return load;
  }
  const complete = Math.floor(Math.max(0, size - JOURNAL_HEADER_BYTES) / JOURNAL_RECORD_BYTES);
  const tail = Math.max(0, size - JOURNAL_HEADER_BYTES) - complete * JOURNAL_RECORD_BYTES;
  let badChecksums = 0;
  const batch = Buffer.alloc(BATCH_RECORDS * JOURNAL_RECORD_BYTES);
  for (let done = 0; done < complete;) {
    const want = Math.min(BATCH_RECORDS, complete - done);
    const got = readSync(fd, batch, 0, want * JOURNAL_RECORD_BYTES, JOURNAL_HEADER_BYTES + done * JOURNAL_RECORD_BYTES);
    const records = Math.floor(got / JOURNAL_RECORD_BYTES);
    if (records === 0) break;
    for (let i = 0; i < records; i++) {
      const at = i * JOURNAL_RECORD_BYTES;
      if (crc32(batch.subarray(at, at + CRC_OFFSET)) !== batch.readUInt32BE(at + CRC_OFFSET)) {
        badChecksums++;
        continue;
      }
      const key = batch.toString('latin1', at, at + JOURNAL_KEY_BYTES);
      const msgtime = batch.readUIntBE(at + 16, 6);
      const expiresAt = batch.readUIntBE(at + 22, 6);
      if (key === FLOOR_KEY) {
        load.floor = Math.max(load.floor ?? 0, msgtime);
      } else if (expiresAt > options.nowSeconds) {
        options.onEntry(key, msgtime, expiresAt);
        load.entries++;
      }
    }
    done += records;
  }
  load.records = complete;
  const problems: string[] = [];
  if (badChecksums > 0) problems.push(`${badChecksums} record(s) with a bad checksum`);
  if (tail > 0) problems.push(`a partial record of ${tail} bytes at the end`);
  if (problems.length > 0) load.damage = problems.join(' and ');
  return load;
}

function writeAll(fd: number, bytes: Uint8Array): void {
  let offset = 0;
  while (offset < bytes.length) offset += writeSync(fd, bytes, offset, bytes.length - offset);
}

function syncDirectory(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, constants.O_RDONLY);
    fsyncSync(fd);
  } catch {
    // Some file systems refuse to sync a directory; the rename itself is still atomic.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
