/**
 * tsco's log output. A person at a terminal reads lines like `tsco: warning: connection lost; reconnecting
 * (host=127.0.0.1:61613, error=...)`; JSON log lines (pino) only when asked: `--log-json`, a `debug` or `trace`
 * `loglevel`, or a `logfile`, which always gets JSON.
 */
import type { Logger } from '../../inter/logger.js';
import { createLogger } from '../../util/log.js';
import type { ClientSettings } from '../../client/settings.js';

const LEVELS = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60, silent: Number.POSITIVE_INFINITY } as const;
type LevelName = keyof typeof LEVELS;
const LABELS: Record<'debug' | 'info' | 'warn' | 'error', string> = { debug: 'debug', info: 'info', warn: 'warning', error: 'error' };

/** Bindings every line would repeat (who logs), left out of the human-readable form. */
const CONTEXT_FIELDS = new Set(['component', 'connector', 'identity', 'name']);

/** One log record as a line: `tsco: <level>: <message> (<field>=<value>, ...)`. */
export function formatLine(level: 'debug' | 'info' | 'warn' | 'error', fields: Record<string, unknown>, msg: string): string {
  const details = Object.entries(fields)
    .filter(([key, value]) => !CONTEXT_FIELDS.has(key) && value !== undefined && value !== null)
    .map(([key, value]) => `${key}=${typeof value === 'string' ? value : value instanceof Error ? value.message : JSON.stringify(value)}`);
  const text = `${msg}${details.length > 0 ? ` (${details.join(', ')})` : ''}`.replace(/\s*\n\s*/g, ' ');
  return `tsco: ${LABELS[level]}: ${text}\n`;
}

/** A Logger writing human-readable lines at or above `level`. */
export class TextLogger implements Logger {
  private readonly threshold: number;

  constructor(
    private readonly write: (line: string) => void,
    level: string,
    private readonly bindings: Record<string, unknown> = {},
  ) {
    this.threshold = LEVELS[(level in LEVELS ? level : 'warn') as LevelName];
  }

  debug(obj: object, msg?: string): void { this.log('debug', obj, msg); }
  info(obj: object, msg?: string): void { this.log('info', obj, msg); }
  warn(obj: object, msg?: string): void { this.log('warn', obj, msg); }
  error(obj: object, msg?: string): void { this.log('error', obj, msg); }

  child(bindings: Record<string, unknown>): Logger {
    return new TextLogger(this.write, Object.keys(LEVELS).find((name) => LEVELS[name as LevelName] === this.threshold) ?? 'warn', { ...this.bindings, ...bindings });
  }

  private log(level: 'debug' | 'info' | 'warn' | 'error', obj: object, msg: string | undefined): void {
    if (LEVELS[level] < this.threshold) return;
    this.write(formatLine(level, { ...this.bindings, ...obj }, msg ?? ''));
  }
}

/**
 * The logger of a tsco run: JSON (pino) to the `logfile` when one is set, JSON to standard error with `--log-json`
 * or a debug/trace `loglevel`, human-readable lines to standard error otherwise.
 */
export function clientLogger(settings: Pick<ClientSettings, 'loglevel' | 'logfile' | 'logRotation'>, json: boolean, err: (text: string) => void): Logger {
  if (settings.logfile) return createLogger({ level: settings.loglevel, file: settings.logfile, rotation: settings.logRotation, name: 'tsco' });
  if (json || settings.loglevel === 'debug' || settings.loglevel === 'trace') return createLogger({ level: settings.loglevel, name: 'tsco' });
  return new TextLogger(err, settings.loglevel);
}
