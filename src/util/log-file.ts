/**
 * A log file for pino: each line is appended synchronously (as the audit log is), so a line is in the file
 * when the call returns, nothing waits in memory, and a rotation falls exactly between two lines. It rotates by
 * size as MCollective's logger does (before a line would take the file past `max_log_size` bytes, keeping
 * `keeplogs` files: `<file>.1` the newest, `<file>.<keeplogs>` the oldest), and reopens on request after an
 * outside rotation (logrotate, then SIGUSR2 to tscollectived). Only a regular file is rotated: `/dev/null` or a
 * pipe is appended to as it is. A failing disk never stops the program: a line that cannot be written is
 * dropped and counted, and the problem goes to standard error at most once a minute.
 */
import { closeSync, fstatSync, mkdirSync, openSync, renameSync, statSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

/** When and how the log file is rotated. */
export interface LogRotation {
  /** Rotate before a line would take the file past this many bytes; 0 never rotates (logrotate does). */
  maxBytes: number;
  /** Rotated files kept: `<file>.1` ... `<file>.<keep>`. */
  keep: number;
}

/** MCollective's defaults: `max_log_size = 2097152`, `keeplogs = 5`. */
export const DEFAULT_LOG_ROTATION: Readonly<LogRotation> = Object.freeze({ maxBytes: 2_097_152, keep: 5 });

/** Problems of the file itself are reported at most this often (a full disk fails every write). */
const REPORT_INTERVAL_MS = 60_000;

/** What a log file went through, for tests and diagnostics. */
export interface LogFileStats {
  rotations: number;
  reopens: number;
  /** Lines that could not be written (disk full, file system gone). */
  dropped: number;
  /** Write, open or rename failures. */
  errors: number;
}

/** Opens `path` for appending (creating it and its directory); its descriptor, size and whether it may be rotated. */
function open(path: string): { fd: number; size: number; rotatable: boolean } {
  mkdirSync(dirname(path), { recursive: true });
  const fd = openSync(path, 'a', 0o640);
  try {
    const stat = fstatSync(fd);
    return { fd, size: stat.size, rotatable: stat.isFile() };
  } catch (error) {
    closeSync(fd);
    throw error;
  }
}

/** A rotating, reopenable log file (a pino destination stream). */
export class LogFile {
  private fd: number;
  private size: number;
  private rotatable: boolean;
  private closed = false;
  private lastReport = Number.NEGATIVE_INFINITY;
  private readonly counts: LogFileStats = { rotations: 0, reopens: 0, dropped: 0, errors: 0 };

  /**
   * Opens (creating it and its directory if missing) `path` for appending, rotating it first when it is already
   * over `max_log_size`. Throws, with the path and the reason, when it cannot be opened, so start-up reports it
   * instead of losing every line.
   */
  constructor(
    readonly path: string,
    readonly rotation: LogRotation = { maxBytes: 0, keep: 0 },
    private readonly report: (line: string) => void = (line) => { process.stderr.write(`${line}\n`); },
  ) {
    try {
      ({ fd: this.fd, size: this.size, rotatable: this.rotatable } = open(path));
    } catch (error) {
      throw new Error(`cannot open the log file ${path}: ${(error as Error).message}`, { cause: error });
    }
    if (this.size > 0 && this.due(0)) this.rotate();
  }

  /** Appends one line (pino calls this), rotating first when the line would take the file past max_log_size. */
  write(line: string): boolean {
    if (this.closed) return false;
    const bytes = Buffer.from(line, 'utf8');
    if (this.size > 0 && this.due(bytes.length)) this.rotate();
    try {
      for (let offset = 0; offset < bytes.length;) offset += writeSync(this.fd, bytes, offset);
      this.size += bytes.length;
    } catch (error) {
      this.counts.dropped++;
      this.problem(`cannot write the log file ${this.path}: ${(error as Error).message}; lines are being lost`);
    }
    return true;
  }

  /**
   * Starts writing to a fresh file at `path` (after logrotate moved the old one away). When it cannot be opened,
   * lines keep going to the file already open.
   */
  reopen(): void {
    if (this.closed) return;
    this.counts.reopens++;
    this.switchFile();
  }

  /** Nothing is buffered: every line is written before write() returns (pino's logger.flush calls this). */
  flush(callback?: (error?: Error) => void): void {
    callback?.();
  }

  /** Nothing is buffered (pino calls this on exit). */
  flushSync(): void {}

  /** Closes the file; later lines are ignored. */
  close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      try {
        closeSync(this.fd);
      } catch {
        // Already gone: nothing left to flush.
      }
    }
    return Promise.resolve();
  }

  /** Rotations, reopens, dropped lines and failures so far. */
  stats(): LogFileStats {
    return { ...this.counts };
  }

  private due(incoming: number): boolean {
    return this.rotatable && this.rotation.maxBytes > 0 && this.rotation.keep > 0 && this.size + incoming > this.rotation.maxBytes;
  }

  /** Shifts the rotated files, moves the log to `<file>.1` and opens a new one; a failure keeps the same file. */
  private rotate(): void {
    if (this.shift()) {
      this.counts.rotations++;
      this.switchFile();
    } else {
      // The next attempt comes after another max_log_size bytes, not on every line.
      this.size = 0;
    }
  }

  /** `<file>.N-1` → `<file>.N` ... `<file>` → `<file>.1`; the oldest beyond `keep` is replaced. */
  private shift(): boolean {
    try {
      statSync(this.path);
    } catch {
      // Moved away by someone else (logrotate, before its signal): nothing to shift, the new file is created.
      return true;
    }
    try {
      for (let index = this.rotation.keep - 1; index >= 1; index--) {
        try {
          renameSync(`${this.path}.${index}`, `${this.path}.${index + 1}`);
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
        }
      }
      renameSync(this.path, `${this.path}.1`);
      return true;
    } catch (error) {
      this.problem(`cannot rotate the log file ${this.path}: ${(error as Error).message}; still writing to it`);
      return false;
    }
  }

  private switchFile(): void {
    try {
      const next = open(this.path);
      const previous = this.fd;
      ({ fd: this.fd, size: this.size, rotatable: this.rotatable } = next);
      try {
        closeSync(previous);
      } catch {
        // The old descriptor is gone already; the new file is in use.
      }
    } catch (error) {
      this.size = 0;
      this.problem(`cannot reopen the log file ${this.path}: ${(error as Error).message}; still writing to the old file`);
    }
  }

  private problem(text: string): void {
    this.counts.errors++;
    const now = Date.now();
    if (now - this.lastReport < REPORT_INTERVAL_MS) return;
    this.lastReport = now;
    this.report(`log: ${text}`);
  }
}
