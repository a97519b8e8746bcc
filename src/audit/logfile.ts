/**
 * The `logfile` audit provider (`rpcaudit = 1`, `plugin.rpcaudit.logfile`): one JSON line per
 * authorized request, appended synchronously so a line is on disk before the action runs.
 */
import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Counters, Logger } from '../inter/logger.js';

/** One audited request. */
export interface AuditRecord {
  /** ISO 8601 UTC. */
  time: string;
  requestid: string;
  /** `callerid@senderid`, e.g. `cert=alice@admin.example.net`. */
  caller: string;
  agent: string;
  action: string;
  data: unknown;
}

/** Appends audit records as JSON lines; a write failure is logged and counted (`audit.errors`), never thrown. */
export class AuditLog {
  constructor(
    readonly path: string,
    private readonly logger: Logger,
    private readonly counters: Counters,
  ) {
    mkdirSync(dirname(path), { recursive: true });
  }

  /** Writes one line for a request. */
  record(entry: Omit<AuditRecord, 'time'> & { time?: Date }): void {
    const { time, ...rest } = entry;
    const line: AuditRecord = { time: (time ?? new Date()).toISOString(), ...rest };
    try {
      appendFileSync(this.path, `${JSON.stringify(line)}\n`, { mode: 0o600 });
    } catch (error) {
      this.counters.increment('audit.errors');
      this.logger.error({ err: error, path: this.path }, `cannot write the audit log ${this.path}`);
    }
  }
}
