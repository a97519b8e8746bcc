/**
 * Freshness of received requests: the TTL and clock-skew checks, the replay cache, and (for a server) the replay
 * journal that carries the cache across restarts. A request is checked (and remembered in memory) before its
 * payload is touched, and recorded in the journal once it is accepted, before the provider returns it: an action
 * can only run after its request is on disk, so a crash cannot forget it.
 */
import { createHash } from 'node:crypto';
import { ExpiredError, FutureDatedError, ReplayJournalError, ReplayedError, type SecurityError } from '../../../src/errors.js';
import type { Counters, Logger } from '../../../src/inter/logger.js';
import { LogLimiter } from '../../../src/util/log-limiter.js';
import { JOURNAL_KEY_BYTES, ReplayJournal } from './replay-journal.js';
import { ReplayCache } from './replay.js';
import type { AesSettings } from './settings.js';

/** Whether the journal is used: written (a daemon), only read (tsco decode), or not at all (a client). */
export type JournalMode = 'write' | 'read' | 'off';

/** Records appended beyond twice the live entries before the journal is compacted. */
const COMPACTION_SLACK = 4096;
/** Milliseconds between attempts to open a journal that failed to open. */
const REOPEN_DELAY_MS = 1000;

/** A checked request, to be recorded once it is accepted. */
export interface FreshTicket {
  readonly key: string;
  readonly msgtime: number;
  readonly expiresAt: number;
}

/** The authenticated facts of a request that freshness is judged on, whatever the protocol version. */
export interface FreshnessFacts {
  readonly requestid: string;
  readonly callerid: string;
  readonly msgtime: number;
  readonly ttl: number;
  /**
   * What the replay cache knows the request by, alone; absent: its callerid and requestid. Version 1 uses its key
   * block, the one part of a version 1 request its sender's key authenticates (requestid and callerid are clear
   * text: a replay may change both), and which no two messages share.
   */
  readonly replayId?: string;
}

/** What the guard needs from its provider. */
export interface FreshnessContext {
  now: () => number;
  logger: Logger;
  counters: Counters;
}

/** The fixed-size journal key of a request: SHA-256 of `callerid NUL requestid`, first 16 bytes, as latin1. */
export function replayKey(callerid: string, requestid: string): string {
  return createHash('sha256').update(callerid).update('\0').update(requestid).digest().toString('latin1', 0, JOURNAL_KEY_BYTES);
}

/** TTL, clock skew, replay cache and replay journal. */
export class FreshnessGuard {
  private readonly cache: ReplayCache;
  private readonly limiter: LogLimiter;
  private journal: ReplayJournal | undefined;
  private opened = false;
  private openProblem: string | null = null;
  private lastOpenAttempt = Number.NEGATIVE_INFINITY;
  /** Start-time floor applied because the journal was damaged (epoch seconds), for the refusal message. */
  private damageFloor = Number.NEGATIVE_INFINITY;
  /** After a failed compaction, the record count at which to try again (not on every request). */
  private retryCompactionAt = 0;

  constructor(private readonly settings: AesSettings, private readonly context: FreshnessContext, private readonly mode: JournalMode) {
    this.cache = new ReplayCache(settings.replayCacheSize);
    this.limiter = new LogLimiter(context.logger, { now: context.now });
  }

  /**
   * Opens and loads the journal (once; a failed open is retried at most every second). Returns null, or why the
   * journal cannot be used. Called by validate() at start-up and by the first request.
   */
  start(): string | null {
    if (this.mode === 'off' || this.opened) return null;
    const now = this.context.now();
    if (now - this.lastOpenAttempt < REOPEN_DELAY_MS) return this.openProblem;
    this.lastOpenAttempt = now;
    const location = this.settings.replayJournal;
    if (!location) return null;
    if ('problem' in location) return (this.openProblem = location.problem);
    const nowSeconds = now / 1000;
    let loaded: ReturnType<typeof ReplayJournal.open>;
    try {
      loaded = ReplayJournal.open(location.path, {
        readOnly: this.mode === 'read', nowSeconds,
        onEntry: (key, msgtime, expiresAt) => { this.cache.check(key, msgtime, expiresAt, nowSeconds); },
      });
    } catch (error) {
      this.context.counters.increment('security.replay_journal.open_failed');
      return (this.openProblem = `${location.origin}: cannot use the replay journal ${location.path}: ${(error as Error).message}`);
    }
    this.opened = true;
    this.openProblem = null;
    this.journal = loaded.journal;
    const { load } = loaded;
    if (load.floor !== null) this.cache.raiseFloor(load.floor);
    const fields = { path: location.path, entries: load.entries, records: load.records };
    if (load.damage) {
      // Records may be missing: only requests dated after this start are provably new.
      this.damageFloor = Math.floor(nowSeconds);
      this.cache.raiseFloor(this.damageFloor);
      this.context.counters.increment('security.replay_journal.damaged');
      this.context.logger.error({ ...fields, damage: load.damage },
        `replay journal ${location.path} is damaged (${load.damage}): kept the ${load.entries} entries that parse; requests dated before this start that it does not list are refused as unprovable`);
      this.compact();
    } else {
      this.context.logger.info(fields, `replay journal loaded: ${load.entries} unexpired request(s) remembered`);
    }
    return null;
  }

  /**
   * TTL and msgtime checks (warnings with enforce_ttl = 0, logged and counted), then the replay check, which
   * remembers the request in memory. Throws ExpiredError, FutureDatedError, ReplayedError or ReplayJournalError.
   */
  check(header: FreshnessFacts): { warnings: string[]; ticket: FreshTicket } {
    const nowSeconds = this.context.now() / 1000;
    const warnings: string[] = [];
    const age = nowSeconds - header.msgtime;
    if (age > header.ttl) {
      this.problem(header, warnings, new ExpiredError(`request ${header.requestid} from ${header.callerid} expired: sent ${Math.round(age)}s ago with ttl ${header.ttl}s`));
    }
    if (-age > this.settings.clockSkewSeconds) {
      this.problem(header, warnings, new FutureDatedError(`request ${header.requestid} from ${header.callerid} is dated ${Math.round(-age)}s in the future (clock_skew ${this.settings.clockSkewSeconds}s)`));
    }
    const problem = this.start();
    if (problem !== null) throw new ReplayJournalError(`request ${header.requestid} from ${header.callerid} refused: ${problem}`);
    // With enforce_ttl = 0 an old message would leave the cache at once; remember it for a full ttl from now instead.
    const expiresAt = Math.max(header.msgtime + header.ttl, this.settings.enforceTtl ? 0 : nowSeconds + header.ttl) + this.settings.clockSkewSeconds;
    const key = header.replayId === undefined ? replayKey(header.callerid, header.requestid) : replayKey('', header.replayId);
    const verdict = this.cache.check(key, header.msgtime, expiresAt, nowSeconds);
    if (verdict === 'replayed') throw new ReplayedError(`request ${header.requestid} from ${header.callerid} was already received${header.replayId === undefined ? '' : ' (its key block was, whatever its requestid)'}`);
    if (verdict === 'unprovable') {
      const why = header.msgtime <= this.damageFloor
        ? 'this server\'s replay journal was damaged when it started, so it cannot prove the request did not already run'
        : 'the saturated replay cache (or the journal it was restored from) cannot vouch for it';
      throw new ReplayedError(`request ${header.requestid} from ${header.callerid} is dated ${header.msgtime}, at or before the freshness floor ${this.cache.floor}: ${why}`);
    }
    return { warnings, ticket: { key, msgtime: header.msgtime, expiresAt } };
  }

  /** Makes an accepted request durable: appends it to the journal (compacting when due). */
  record(ticket: FreshTicket): void {
    const journal = this.journal;
    if (!journal || this.mode !== 'write') return;
    try {
      journal.append(ticket.key, ticket.msgtime, ticket.expiresAt);
    } catch (error) {
      // Not durable, so not accepted: forgetting it lets the same request through once the disk recovers.
      this.cache.forget(ticket.key);
      this.context.counters.increment('security.replay_journal.write_failed');
      const message = `cannot record the request in the replay journal ${journal.path}: ${(error as Error).message}`;
      this.limiter.log('error', 'replay_journal.write_failed', { path: journal.path }, `${message}; requests are refused until it can be written`);
      throw new ReplayJournalError(message, { cause: error });
    }
    if (journal.records > Math.max(2 * this.cache.size + COMPACTION_SLACK, this.retryCompactionAt)) this.compact();
  }

  /** Syncs and closes the journal (tests; a daemon's journal lives as long as its process). */
  close(): void {
    this.journal?.close();
    this.limiter.close();
  }

  private compact(): void {
    const journal = this.journal;
    if (!journal || this.mode !== 'write') return;
    try {
      journal.compact(this.cache.entries(), this.cache.floor);
      this.context.counters.increment('security.replay_journal.compactions');
    } catch (error) {
      this.retryCompactionAt = journal.records + COMPACTION_SLACK;
      this.context.counters.increment('security.replay_journal.compaction_failed');
      this.limiter.log('error', 'replay_journal.compaction_failed', { path: journal.path, error: (error as Error).message },
        `replay journal ${journal.path} could not be compacted (it keeps growing until it can): ${(error as Error).message}`);
    }
  }

  /** Throws `error`, or with enforce_ttl = 0 records it as a logged, counted warning. */
  private problem(header: FreshnessFacts, warnings: string[], error: SecurityError): void {
    if (this.settings.enforceTtl) throw error;
    warnings.push(error.message);
    this.context.counters.increment(`security.warning.${error.code}`);
    this.context.logger.warn({ requestid: header.requestid, callerid: header.callerid, code: error.code }, `${error.message} (accepted: enforce_ttl = 0)`);
  }
}
