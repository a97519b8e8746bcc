/**
 * The `logfile` audit provider (`rpcaudit = 1`, `plugin.rpcaudit.logfile`): one JSON line per
 * authorized request, appended synchronously so a line is on disk before the action runs.
 * A request's data is stored up to `plugin.rpcaudit.max_data_bytes` (its JSON text); larger data is stored
 * cut at that size, marked `data_truncated: true` with the original size in `data_bytes`, so one request can
 * never write more than a bounded line.
 */
import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Counters, Logger } from '../inter/logger.js';

/** `plugin.rpcaudit.max_data_bytes` when not configured. */
export const DEFAULT_AUDIT_MAX_DATA_BYTES = 4096;

/** One audited request. */
export interface AuditRecord {
  /** ISO 8601 UTC. */
  time: string;
  requestid: string;
  /** `callerid@senderid`, e.g. `cert=alice@admin.example.net`. */
  caller: string;
  agent: string;
  action: string;
  /** The request's data; when it was larger than the limit, the first max_data_bytes of its JSON text (a string). */
  data: unknown;
  /** Present (true) when `data` was cut. */
  data_truncated?: true;
  /** The size in bytes of the data's JSON text, present when it was cut. */
  data_bytes?: number;
}

/** What an audit entry is made from. */
export type AuditEntry = Omit<AuditRecord, 'time' | 'data_truncated' | 'data_bytes'> & { time?: Date };

/**
 * `data` as the audit log stores it: unchanged when its JSON text fits in `maxBytes`, otherwise that text cut at
 * `maxBytes` bytes (a multi-byte character split by the cut is dropped) with the original size.
 */
export function capAuditData(data: unknown, maxBytes: number): Pick<AuditRecord, 'data' | 'data_truncated' | 'data_bytes'> {
  const text = JSON.stringify(data ?? null);
  // A string of n UTF-16 units takes at least n and at most 3n UTF-8 bytes: most data is decided without encoding.
  if (text.length * 3 <= maxBytes) return { data };
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes <= maxBytes) return { data };
  const head = Buffer.from(text.slice(0, maxBytes), 'utf8').subarray(0, maxBytes).toString('utf8').replace(/\uFFFD$/, '');
  return { data: head, data_truncated: true, data_bytes: bytes };
}

/** Appends audit records as JSON lines; a write failure is logged and counted (`audit.errors`), never thrown. */
export class AuditLog {
  constructor(
    readonly path: string,
    private readonly logger: Logger,
    private readonly counters: Counters,
    /** `plugin.rpcaudit.max_data_bytes`: the most of a request's data (as JSON text) one line stores. */
    readonly maxDataBytes: number = DEFAULT_AUDIT_MAX_DATA_BYTES,
  ) {
    mkdirSync(dirname(path), { recursive: true });
  }

  /** Writes one line for a request (its data capped at maxDataBytes; counted `audit.truncated` when cut). */
  record(entry: AuditEntry): void {
    const { time, data, ...rest } = entry;
    const capped = capAuditData(data, this.maxDataBytes);
    if (capped.data_truncated) this.counters.increment('audit.truncated');
    const line: AuditRecord = { time: (time ?? new Date()).toISOString(), ...rest, ...capped };
    try {
      appendFileSync(this.path, `${JSON.stringify(line)}\n`, { mode: 0o600 });
    } catch (error) {
      this.counters.increment('audit.errors');
      this.logger.error({ err: error, path: this.path }, `cannot write the audit log ${this.path}`);
    }
  }
}
