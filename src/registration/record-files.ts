/**
 * The files of the `directory` registration backend: what each node last registered, kept as one JSON file per
 * node (`<dir>/<identity>.json`) written atomically (write a temporary file, fsync, rename), so a crash leaves
 * either the old or the new record, never a torn one. Meant for small setups: every query reads every file
 * (src/registration/stores/directory.ts); larger fleets use the sqlite or postgresql backend, which can import
 * these files (src/registration/import.ts). RecordFiles is synchronous; the RegistrationStore interface over it is
 * DirectoryRegistrationStore (src/registration/stores/directory.ts).
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { InvalidArgumentError, RegistrationStoreError } from '../errors.js';
import type { RegisteredNode, RegistrationUpdate as StoreUpdate } from '../inter/registration.js';
// NAME_RULES.identity excludes path separators and a leading dot, so an identity can name a file.
import { UNKNOWN_PROOF, checkIdentity, factsObject, normalizeUpdate, recordOf } from './stores/record.js';

/**
 * What a record file holds: a RegisteredNode, plus `callerid` (the signer again) for readers of the format
 * before signers and proofs were kept.
 */
export interface NodeRecord extends RegisteredNode {
  /** The same as `signer`. */
  readonly callerid: string;
}

/**
 * A registration to record. `signer` is the `cert=<name>` that proved it; `callerid` is its former name, still
 * accepted. `senderProof` is `unknown` when omitted.
 */
export interface RecordFileUpdate extends Omit<StoreUpdate, 'signer' | 'senderProof'> {
  signer?: string;
  senderProof?: string;
  /** Former name of `signer`. */
  callerid?: string;
}

function isRecord(value: unknown): value is Record<string, unknown> & { identity: string; lastSeen: number; agents: unknown[] } {
  const r = value as NodeRecord;
  return typeof r === 'object' && r !== null && typeof r.identity === 'string' && typeof r.lastSeen === 'number' && Array.isArray(r.agents);
}

/** A record read from a file, facts as a null-prototype object; files written before signers were kept have callerid only. */
function recordFromFile(value: Record<string, unknown>): NodeRecord {
  const signer = String(value['signer'] ?? value['callerid'] ?? '');
  const facts = value['facts'];
  const strings = (list: unknown): string[] => (Array.isArray(list) ? list.filter((item): item is string => typeof item === 'string') : []);
  return {
    identity: value['identity'] as string,
    collective: String(value['collective'] ?? ''),
    signer,
    callerid: signer,
    senderProof: typeof value['senderProof'] === 'string' ? value['senderProof'] : UNKNOWN_PROOF,
    agents: strings(value['agents']).sort(),
    facts: factsObject(typeof facts === 'object' && facts !== null
      ? Object.entries(facts).filter((entry): entry is [string, string] => typeof entry[1] === 'string')
      : []),
    classes: strings(value['classes']).sort(),
    collectives: strings(value['collectives']).sort(),
    firstSeen: Number(value['firstSeen'] ?? value['lastSeen']),
    lastSeen: value['lastSeen'] as number,
    registrations: Number(value['registrations'] ?? 1),
  };
}

/** A directory of node records, one file each. */
export class RecordFiles {
  private constructor(readonly dir: string, private readonly onCorrupt: (path: string, error: Error) => void) {}

  /**
   * Opens (creating, mode 0700) the store in `dir` and removes temporary files left by a crash.
   * `onCorrupt` hears about unreadable records (they are skipped, never thrown).
   */
  static open(dir: string, options: { onCorrupt?: (path: string, error: Error) => void } = {}): RecordFiles {
    if (typeof dir !== 'string' || dir === '') throw new InvalidArgumentError('dir: expected a directory path');
    try {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      for (const entry of readdirSync(dir)) if (entry.startsWith('.') && entry.endsWith('.tmp')) rmSync(join(dir, entry), { force: true });
    } catch (error) {
      throw new RegistrationStoreError(`cannot open the registration store ${dir}: ${(error as Error).message}`, { cause: error });
    }
    return new RecordFiles(dir, options.onCorrupt ?? (() => {}));
  }

  private path(identity: string): string {
    return join(this.dir, `${identity}.json`);
  }

  private read(path: string): NodeRecord | undefined {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new RegistrationStoreError(`cannot read ${path}: ${(error as Error).message}`, { cause: error });
    }
    try {
      const value: unknown = JSON.parse(text);
      if (!isRecord(value)) throw new Error('not a node record');
      return recordFromFile(value);
    } catch (error) {
      this.onCorrupt(path, error as Error);
      return undefined;
    }
  }

  private write(record: NodeRecord): void {
    const target = this.path(record.identity);
    const temporary = join(this.dir, `.${record.identity}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
    try {
      const fd = openSync(temporary, 'w', 0o600);
      try {
        writeSync(fd, `${JSON.stringify(record, null, 1)}\n`);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      renameSync(temporary, target);
    } catch (error) {
      rmSync(temporary, { force: true });
      throw new RegistrationStoreError(`cannot write ${target}: ${(error as Error).message}`, { cause: error });
    }
  }

  /**
   * Records a registration, keeping firstSeen and counting registrations. Returns the new record. Throws
   * InvalidArgumentError for a malformed update (see normalizeUpdate), RegistrationStoreError when the file
   * cannot be written.
   */
  record(update: RecordFileUpdate): NodeRecord {
    const signer = update.signer ?? update.callerid;
    const normalized = normalizeUpdate({ ...update, signer: signer!, senderProof: update.senderProof ?? UNKNOWN_PROOF });
    const previous = this.read(this.path(normalized.identity));
    const stored = previous ? recordOf(normalized, previous.firstSeen, previous.registrations + 1) : recordOf(normalized, normalized.firstSeen, normalized.registrations);
    const record: NodeRecord = { ...stored, callerid: stored.signer };
    this.write(record);
    return record;
  }

  /** The record of one node, or undefined. */
  get(identity: string): NodeRecord | undefined {
    return this.read(this.path(checkIdentity(identity)));
  }

  /** Every node record, sorted by identity. */
  list(): NodeRecord[] {
    let entries: string[];
    try {
      entries = readdirSync(this.dir);
    } catch (error) {
      throw new RegistrationStoreError(`cannot list ${this.dir}: ${(error as Error).message}`, { cause: error });
    }
    return entries
      .filter((entry) => entry.endsWith('.json') && !entry.startsWith('.'))
      .sort()
      .flatMap((entry) => {
        const record = this.read(join(this.dir, entry));
        return record ? [record] : [];
      });
  }

  /**
   * Nodes not seen for `intervals` registration intervals of `interval` seconds (default 3
   * intervals): their lastSeen is older than `now - intervals * interval`.
   */
  stale(options: { interval: number; intervals?: number; now?: number }): NodeRecord[] {
    const { interval, intervals = 3, now = Date.now() } = options;
    if (!(interval > 0)) throw new InvalidArgumentError(`interval: expected a positive number of seconds, got ${interval}`);
    if (!(intervals > 0)) throw new InvalidArgumentError(`intervals: expected a positive number, got ${intervals}`);
    const cutoff = now - intervals * interval * 1000;
    return this.list().filter((record) => record.lastSeen < cutoff);
  }

  /** Nodes seen within the last `intervals` intervals (the complement of stale). */
  active(options: { interval: number; intervals?: number; now?: number }): NodeRecord[] {
    const stale = new Set(this.stale(options).map((record) => record.identity));
    return this.list().filter((record) => !stale.has(record.identity));
  }

  /** Forgets a node; true when it was known. */
  remove(identity: string): boolean {
    const path = this.path(checkIdentity(identity));
    const known = this.read(path) !== undefined;
    rmSync(path, { force: true });
    return known;
  }
}
