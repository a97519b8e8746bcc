/**
 * The process's standard streams as tsco writes to them. Kept apart from output.ts, which loads the client library:
 * tsco's entry point needs the streams before it knows which command (and so which modules) the run uses.
 */
import type { Streams } from './output.js';
import { readBounded } from './stdin.js';
import { colorWanted } from './terminal.js';

/** The process's streams (colours only on a terminal, never with NO_COLOR). */
export const processStreams: Streams = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  errIsTty: Boolean(process.stderr.isTTY),
  color: colorWanted(Boolean(process.stdout.isTTY)),
  ...(process.stderr.columns ? { columns: process.stderr.columns } : {}),
  readStdin: async (maxBytes) => (await readBounded(process.stdin, maxBytes, 'too large for a node list')).toString('utf8'),
};
