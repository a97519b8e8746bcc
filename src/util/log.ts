/** Logger construction: pino for programs (to standard error or a rotating log file), a capturing logger for tests. */
import { createRequire } from 'node:module';
import type * as Pino from 'pino';
import type { Logger } from '../inter/logger.js';
import { LogFile, type LogRotation } from './log-file.js';

export { DEFAULT_LOG_ROTATION, LogFile, type LogFileStats, type LogRotation } from './log-file.js';

const requireModule = createRequire(import.meta.url);
let pinoModule: typeof Pino | undefined;

/** pino, loaded at the first JSON logger: a tsco run printing human-readable lines never pays for it (tens of ms). */
function loadPino(): typeof Pino {
  pinoModule ??= requireModule('pino') as typeof Pino;
  return pinoModule;
}

/** Options for createLogger. */
export interface LoggerOptions {
  /** pino level name: trace, debug, info, warn, error, fatal, silent. */
  level?: string;
  /** A file path to append to; stderr when absent. */
  file?: string;
  name?: string;
  /** Size-based rotation of `file` (`max_log_size`, `keeplogs`); none when absent. */
  rotation?: LogRotation;
}

/** A program's logger and, when it writes to a file, that file (to reopen after logrotate). */
export interface OpenLog {
  logger: Logger;
  /** Undefined when logging to standard error. */
  file: LogFile | undefined;
}

/**
 * A pino logger writing JSON lines to `file` (created if missing, rotated by `rotation`) or to standard error.
 * Throws when the file cannot be opened.
 */
export function openLog(options: LoggerOptions = {}): OpenLog {
  const file = options.file ? new LogFile(options.file, options.rotation, (line) => { process.stderr.write(`${options.name ?? 'tscollective'}: ${line}\n`); }) : undefined;
  const { pino } = loadPino();
  const logger = pino({ level: options.level ?? 'info', name: options.name ?? 'tscollective' }, file ?? pino.destination(2)) as unknown as Logger;
  return { logger, file };
}

/** A pino logger writing JSON lines to `file` (created if missing, rotated by `rotation`) or to standard error. */
export function createLogger(options: LoggerOptions = {}): Logger {
  return openLog(options).logger;
}

/**
 * A child of `parent` with `bindings`, created at its first use: a request's logger (an action's context) is
 * rarely used, and creating a pino child for every request is a cost every request pays.
 */
export function lazyChild(parent: Logger, bindings: Record<string, unknown>): Logger {
  let child: Logger | undefined;
  const get = (): Logger => (child ??= parent.child(bindings));
  return {
    debug: (obj, msg) => get().debug(obj, msg),
    info: (obj, msg) => get().info(obj, msg),
    warn: (obj, msg) => get().warn(obj, msg),
    error: (obj, msg) => get().error(obj, msg),
    child: (more) => get().child(more),
  };
}

/** One captured log record. */
export interface LogRecord {
  level: 'debug' | 'info' | 'warn' | 'error';
  msg: string;
  fields: Record<string, unknown>;
}

/** A logger that keeps records in memory, for tests and for the demo's narration. */
export class CapturingLogger implements Logger {
  constructor(
    readonly records: LogRecord[] = [],
    private readonly bindings: Record<string, unknown> = {},
  ) {}

  private push(level: LogRecord['level'], obj: object, msg?: string): void {
    this.records.push({ level, msg: msg ?? '', fields: { ...this.bindings, ...obj } });
  }

  debug(obj: object, msg?: string): void { this.push('debug', obj, msg); }
  info(obj: object, msg?: string): void { this.push('info', obj, msg); }
  warn(obj: object, msg?: string): void { this.push('warn', obj, msg); }
  error(obj: object, msg?: string): void { this.push('error', obj, msg); }

  child(bindings: Record<string, unknown>): Logger {
    return new CapturingLogger(this.records, { ...this.bindings, ...bindings });
  }

  /** Records at `level` whose message contains `text`. */
  find(level: LogRecord['level'], text: string): LogRecord[] {
    return this.records.filter((r) => r.level === level && r.msg.includes(text));
  }
}
