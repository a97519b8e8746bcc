/** The shape both file formats parse into, before validation. */
import type { RawValue } from './values.js';

/** One `key = value` as read from a source, with where it was written. */
export interface SourceEntry {
  key: string;
  value: RawValue;
  /** 1-based line in the source file; absent for in-memory settings. */
  line?: number;
}

/** What a file format parser returns: every entry it could read and every syntax problem. */
export interface ParsedSource {
  entries: SourceEntry[];
  /** Messages already prefixed with `file:line: `. */
  problems: string[];
}

/** Keys are dotted words: letters, digits, `_` and `-` (`plugin.rabbitmq.pool.1.ssl.cert`). */
export const KEY_PATTERN = /^[A-Za-z0-9_][\w-]*(\.[\w-]+)*$/;
