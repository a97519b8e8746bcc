/**
 * What tsco does differently on a terminal: colours on standard output (only when it is a terminal, never with
 * `NO_COLOR` or `TERM=dumb`), and on standard error the discovery line and a progress bar (only when it is a
 * terminal, unless `--np`). The progress bar redraws itself with carriage returns and spaces, no escape sequences,
 * so a terminal that shows control characters literally still reads it. A closed pipe ends tsco quietly.
 */
import type { DiscoveryEvent } from '../../client/index.js';
import type { Streams } from './output.js';

/** Colouring functions; each returns its text unchanged when colours are off. */
export interface Palette {
  red(text: string): string;
  green(text: string): string;
  yellow(text: string): string;
  bold(text: string): string;
}

const sgr = (code: number) => (text: string): string => `\x1b[${code}m${text}\x1b[0m`;
const plain = (text: string): string => text;

/** The palette: SGR colours when `enabled`, else the identity. */
export function palette(enabled: boolean): Palette {
  return enabled
    ? { red: sgr(31), green: sgr(32), yellow: sgr(33), bold: sgr(1) }
    : { red: plain, green: plain, yellow: plain, bold: plain };
}

/** Whether to colour a stream: a terminal, `NO_COLOR` unset or empty (no-color.org), and `TERM` not `dumb`. */
export function colorWanted(isTty: boolean, env: NodeJS.ProcessEnv = process.env): boolean {
  if (!isTty) return false;
  if (env['NO_COLOR'] !== undefined && env['NO_COLOR'] !== '') return false;
  return env['TERM'] !== 'dumb';
}

/** The discovery line and progress bar of one call, drawn on standard error. */
export interface Progress {
  /** Prints `Discovering hosts using the mc method for 2 second(s) .... ` and, when discovery ends, the count. */
  discovery(event: DiscoveryEvent): void;
  /** Draws ` * [ ======>     ] received / expected`. */
  update(received: number, expected: number): void;
  /** Removes the bar, so other output starts on a clean line (the next update draws it again). */
  clear(): void;
  /** Removes the bar for good. */
  done(): void;
}

/** The widest bar drawn, and the fewest columns it may shrink to. */
const BAR_MAX = 60;
const BAR_MIN = 10;

/** The progress bar's line for `received` of `expected` nodes, fitting `columns`. */
export function progressLine(received: number, expected: number, columns = 80): string {
  const counts = `${received} / ${expected || '?'}`;
  if (expected <= 0) return ` * ${counts}`;
  const width = Math.max(BAR_MIN, Math.min(BAR_MAX, columns - counts.length - 10));
  const filled = Math.min(width, Math.round((received / expected) * width));
  const bar = filled >= width ? '='.repeat(width) : `${'='.repeat(Math.max(0, filled - 1))}>${' '.repeat(width - Math.max(1, filled))}`;
  return ` * [ ${bar} ] ${counts}`;
}

/** A Progress for `streams`: draws only when standard error is a terminal and `enabled` (not `--np`). */
export function progress(streams: Streams, enabled = true): Progress {
  const active = enabled && streams.errIsTty;
  let shown = 0;
  const erase = (): void => {
    if (shown > 0) streams.err(`\r${' '.repeat(shown)}\r`);
    shown = 0;
  };
  return {
    discovery(event) {
      if (!active) return;
      erase();
      if (event.phase === 'start') {
        const listening = event.method === 'mc' ? ` for ${Number((event.timeoutMs / 1000).toFixed(2))} second(s)` : '';
        streams.err(`Discovering hosts using the ${event.method} method${listening} .... `);
      } else {
        streams.err(`${event.nodes}\n\n`);
      }
    },
    update(received, expected) {
      if (!active) return;
      const line = progressLine(received, expected, streams.columns);
      // Spaces over what a longer previous line left behind, then back to the start of the line.
      streams.err(`\r${line}${' '.repeat(Math.max(0, shown - line.length))}`);
      shown = line.length;
    },
    clear: erase,
    done: erase,
  };
}

/** The exit status of a process killed by SIGPIPE (128 + 13), what a shell reports for `yes | head -1`'s `yes`. */
export const CLOSED_PIPE_EXIT_CODE = 141;

/**
 * Ends the process quietly when `stream`'s reader went away (EPIPE, e.g. `tsco discover | head -1`), with the
 * status a command killed by SIGPIPE has; any other write error prints one line and exits 1.
 */
export function exitQuietlyOnClosedPipe(stream: NodeJS.WritableStream, exit: (code: number) => void = (code) => process.exit(code)): void {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') {
      exit(CLOSED_PIPE_EXIT_CODE);
      return;
    }
    try {
      process.stderr.write(`tsco: cannot write output: ${error.message}\n`);
    } finally {
      exit(1);
    }
  });
}
