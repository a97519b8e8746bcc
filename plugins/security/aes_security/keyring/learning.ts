/**
 * Writing what the provider learns into the certificate directory (layout: src/keys/layout.ts): a new name's key
 * as `<name>.pem` (created only if absent: link() fails on an existing name, so a concurrent writer or an
 * administrator always wins), a CA-signed certificate for a known name added in front of its keys (never replacing
 * one), the sidecar record of learned keys, and a learned file whose every key was revoked moved aside.
 */
import { linkSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { Counters, Logger } from '../../../../src/inter/logger.js';
import {
  MAX_KEYS_PER_FILE, formatLearnedRecord, learnedRecordPath, parseLearnedRecord, setAsidePath, type LearnedKey, type LearnedRecord,
} from '../../../../src/keys/layout.js';
import { randomBytesFast } from '../primitives.js';
import { parseKeySet, type KeySet, type PublicKeyEntry } from './public-key.js';

/** What a Learner needs. */
export interface LearnerOptions {
  now: () => number;
  logger: Logger;
  counters: Counters;
}

/** Stores learned keys and sets aside revoked learned files. */
export class Learner {
  constructor(private readonly options: LearnerOptions) {}

  /**
   * Stores `entry` as the first key of `<dir>/<name>.pem`. With `known` (the key set the file held when the key was
   * resolved) the key is added in front of those keys, provided the file still holds exactly them; without, the
   * file is created only if absent. Returns whether the key was stored; failures are logged and counted, never thrown.
   */
  store(dir: string, path: string, name: string, entry: PublicKeyEntry, key: Omit<LearnedKey, 'kid' | 'learnedAt'>, known: KeySet | null): boolean {
    const temp = join(dir, `.${name}.pem.${process.pid}.${randomBytesFast(6).toString('hex')}.tmp`);
    try {
      if (known) {
        const current = parseKeySet(readFileSync(path, 'utf8'), path);
        // Changed since the message was checked (an administrator, another learner): leave it, the next message retries.
        if (current.kids().join() !== known.kids().join()) return false;
        if (current.entries.length >= MAX_KEYS_PER_FILE) throw new Error(`${path} already holds ${MAX_KEYS_PER_FILE} keys`);
        writeFileSync(temp, entry.pem + current.entries.map((e) => e.pem).join(''), { mode: 0o644, flag: 'wx' });
        renameSync(temp, path);
      } else {
        writeFileSync(temp, entry.pem, { mode: 0o644, flag: 'wx' });
        linkSync(temp, path);
      }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
      this.options.counters.increment('security.learn_failed');
      this.options.logger.error({ name, path, error: (error as Error).message }, 'could not store learned public key');
      return false;
    } finally {
      try { unlinkSync(temp); } catch { /* renamed, linked, or never written */ }
    }
    this.record(dir, name, { kid: entry.kid, learnedAt: new Date(this.options.now()).toISOString(), ...key }, known !== null);
    this.options.counters.increment('security.learned');
    const fields = { name, kid: entry.kid, senderid: key.senderid, path, additional: known !== null };
    if (key.verifiedBy === 'insecure_learning') {
      this.options.logger.warn(fields, 'learned a public key WITHOUT CA verification (insecure_learning = 1): anyone who can reach the middleware can introduce keys');
    } else {
      this.options.logger.info(fields, known ? 'learned a further CA-verified certificate for a known name' : 'learned a CA-verified certificate');
    }
    return true;
  }

  /**
   * Moves `<dir>/<name>.pem` aside (to a hidden `.<name>.pem.revoked-<time>`) when every key of `set` is revoked
   * and every one was learned, so a revoked learned identity stops shadowing its name. Installed keys are never
   * moved. Returns whether the file was moved.
   */
  setAsideRevoked(dir: string, path: string, name: string, set: KeySet): boolean {
    const record = this.readRecord(dir, name);
    const learned = new Set(record?.keys.map((key) => key.kid));
    if (!set.entries.every((entry) => learned.has(entry.kid))) return false;
    const target = setAsidePath(dir, name, new Date(this.options.now()));
    try {
      renameSync(path, target);
      renameSync(learnedRecordPath(dir, name), `${target}.learned.json`);
    } catch (error) {
      this.options.logger.error({ name, path, error: (error as Error).message }, 'could not move a revoked learned key file aside');
      return false;
    }
    this.options.counters.increment('security.learned_set_aside');
    this.options.logger.warn({ name, path, movedTo: basename(target), kids: set.kids() }, 'every learned key of this name is revoked: its file was moved aside');
    return true;
  }

  private readRecord(dir: string, name: string): LearnedRecord | null {
    try {
      return parseLearnedRecord(readFileSync(learnedRecordPath(dir, name), 'utf8'));
    } catch {
      return null;
    }
  }

  private record(dir: string, name: string, key: LearnedKey, additional: boolean): void {
    const previous = additional ? this.readRecord(dir, name) : null;
    const record: LearnedRecord = { name, keys: [key, ...(previous?.keys.filter((k) => k.kid !== key.kid) ?? [])] };
    const path = learnedRecordPath(dir, name);
    const temp = `${path}.${randomBytesFast(6).toString('hex')}.tmp`;
    try {
      writeFileSync(temp, formatLearnedRecord(record), { mode: 0o644, flag: 'wx' });
      renameSync(temp, path);
    } catch (error) {
      try { unlinkSync(temp); } catch { /* never written */ }
      this.options.logger.warn({ name, dir: dirname(path), error: (error as Error).message }, 'learned key stored, but its sidecar record could not be written');
    }
  }
}
