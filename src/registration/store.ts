/**
 * The registration store: what each node last registered, kept as one JSON file per node
 * (`<dir>/<identity>.json`) written atomically (write a temporary file, fsync, rename), so a
 * crash leaves either the old or the new record, never a torn one, and the store survives
 * restarts. No database dependency: records are small, writes are one per node per interval,
 * and the files can be inspected and backed up with ordinary tools.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { InvalidArgumentError, RegistrationStoreError } from '../errors.js';
import type { SenderProof } from '../inter/message.js';
import { checkName } from '../names.js';

/** What the store knows about one node. */
export interface NodeRecord {
  identity: string;
  /** `cert=<name>` of the key that signed the last registration. */
  signer: string;
  /**
   * How `identity` was bound to `signer` when it was stored: `key-name`, `certificate` or `mapping` prove the node's
   * name; `shared` means a key several servers share signed it, so the name is NOT authenticated (tools should say
   * so). Records written before signer and proof were kept read as `none`.
   */
  senderProof: SenderProof;
  collective: string;
  agents: string[];
  /** Flattened facts (empty for `agentlist` registrations). */
  facts: Record<string, string>;
  classes: string[];
  collectives: string[];
  /** Milliseconds since the epoch. */
  firstSeen: number;
  lastSeen: number;
  registrations: number;
}

/** A registration to record. */
export interface RegistrationUpdate {
  identity: string;
  /** `cert=<name>` of the signing key. */
  signer: string;
  senderProof: SenderProof;
  collective: string;
  agents: string[];
  facts?: Record<string, string>;
  classes?: string[];
  collectives?: string[];
  /** Milliseconds since the epoch; default now. */
  time?: number;
}

/** Node identities name files: NAME_RULES.identity excludes separators and a leading dot. */
function checkIdentity(identity: unknown): string {
  return checkName('identity', 'identity', identity);
}

function isRecord(value: unknown): value is NodeRecord {
  const r = value as NodeRecord;
  return typeof r === 'object' && r !== null && typeof r.identity === 'string' && typeof r.lastSeen === 'number' && Array.isArray(r.agents);
}

/** A record as read: older files named the signer `callerid` and kept no proof (read as `none`: unverified). */
function upgrade(record: NodeRecord & { callerid?: unknown }): NodeRecord {
  const { callerid, ...rest } = record;
  return {
    ...rest,
    signer: typeof rest.signer === 'string' ? rest.signer : typeof callerid === 'string' ? callerid : '',
    senderProof: typeof rest.senderProof === 'string' ? rest.senderProof : 'none',
  };
}

/** A directory of node records. */
export class RegistrationStore {
  private constructor(readonly dir: string, private readonly onCorrupt: (path: string, error: Error) => void) {}

  /**
   * Opens (creating, mode 0700) the store in `dir` and removes temporary files left by a crash.
   * `onCorrupt` hears about unreadable records (they are skipped, never thrown).
   */
  static open(dir: string, options: { onCorrupt?: (path: string, error: Error) => void } = {}): RegistrationStore {
    if (typeof dir !== 'string' || dir === '') throw new InvalidArgumentError('dir: expected a directory path');
    try {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      for (const entry of readdirSync(dir)) if (entry.startsWith('.') && entry.endsWith('.tmp')) rmSync(join(dir, entry), { force: true });
    } catch (error) {
      throw new RegistrationStoreError(`cannot open the registration store ${dir}: ${(error as Error).message}`, { cause: error });
    }
    return new RegistrationStore(dir, options.onCorrupt ?? (() => {}));
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
      return upgrade(value);
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

  /** Records a registration, keeping firstSeen and counting registrations. Returns the new record. */
  record(update: RegistrationUpdate): NodeRecord {
    const identity = checkIdentity(update.identity);
    const time = update.time ?? Date.now();
    const previous = this.read(this.path(identity));
    const record: NodeRecord = {
      identity,
      signer: update.signer,
      senderProof: update.senderProof,
      collective: update.collective,
      agents: [...update.agents],
      facts: { ...(update.facts ?? {}) },
      classes: [...(update.classes ?? [])],
      collectives: [...(update.collectives ?? [update.collective])],
      firstSeen: previous?.firstSeen ?? time,
      lastSeen: time,
      registrations: (previous?.registrations ?? 0) + 1,
    };
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
