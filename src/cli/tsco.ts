#!/usr/bin/env node
/**
 * tsco: the tscollective client, in the style of MCollective's `mco`.
 *
 *   tsco [--config client.cfg] ping|discover|rpc|facts|inventory|plugin doc|decode|keys|registration|completion ...
 *
 * The configuration is `--config`, else `$TSCO_CONFIG`, else `~/.tscollective/client.cfg`. RPC commands exit
 * with MCollective's codes (0 ok, 1 nothing discovered and no responses, 2 some failed, 3 discovered but none
 * responded, 4 no discovery and no responses). When the broker cannot be reached (refused, authentication, TLS,
 * no answer within connect_timeout or -t) or is lost for good, tsco prints one line `tsco: CODE: message` naming
 * the broker and the reason, and exits 5; any other error prints `tsco: CODE: message` and exits 1. When the reader
 * of its output goes away (`tsco discover | head -1`), tsco ends quietly with status 141, as if killed by SIGPIPE.
 *
 * Start-up loads only what the run uses: the module of the command named on the command line (every module for
 * help, no command or an unknown one), and later the configured connector and security provider only.
 */
import { CommanderError } from 'commander';
import { ConfigError, ConnectionError, PublishError, TscError } from '../errors.js';
import { buildProgram, modulesFor } from './tsco-commands.js';
import type { Streams } from './tsco/output.js';
import { processStreams } from './tsco/process-streams.js';
import { exitQuietlyOnClosedPipe } from './tsco/terminal.js';

/** The exit code when the middleware failed: no broker reachable, or the connection lost for good. */
export const BROKER_UNAVAILABLE_EXIT_CODE = 5;

/** The exit code of a run that ended with `error`: 5 when the broker could not be reached or was lost, else 1. */
export function exitCodeForError(error: unknown): number {
  return error instanceof ConnectionError || error instanceof PublishError ? BROKER_UNAVAILABLE_EXIT_CODE : 1;
}

/** The message printed for an error: its code and message for our errors, the stack for anything unexpected. */
export function describeError(error: unknown): string {
  if (error instanceof ConfigError) return `${error.code}: ${error.message}`;
  // The message names the broker and what it said; one line, whatever the broker's text held.
  if (error instanceof ConnectionError || error instanceof PublishError) return `${error.code}: ${error.message.replace(/\s*\n\s*/g, ' ')}`;
  if (error instanceof TscError) return `${error.code}: ${error.message}${error.cause instanceof Error ? ` (${error.cause.message})` : ''}`;
  return `unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`;
}

// A short-lived client decodes a few small replies: loading msgpackr's native addon (about 10 ms of every run)
// costs more than it saves. msgpackr reads this when it is first imported, which is after this line.
process.env.MSGPACKR_NATIVE_ACCELERATION_DISABLED ??= 'true';

/** Runs tsco with `argv` (without node and script); resolves to the exit code. */
export async function main(argv: readonly string[], streams: Streams = processStreams): Promise<number> {
  let work: Promise<number> | undefined;
  const program = await buildProgram(streams, (promise) => { work = promise; }, modulesFor(argv));
  try {
    await program.parseAsync([...argv], { from: 'user' });
  } catch (error) {
    // Commander has already printed usage errors and help; it tells us the code to exit with.
    if (error instanceof CommanderError) return error.exitCode;
    streams.err(`tsco: ${describeError(error)}\n`);
    return 1;
  }
  if (!work) return 0;
  try {
    return await work;
  } catch (error) {
    streams.err(`tsco: ${describeError(error)}\n`);
    return exitCodeForError(error);
  }
}

exitQuietlyOnClosedPipe(process.stdout);
exitQuietlyOnClosedPipe(process.stderr);
main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (error: unknown) => {
    process.stderr.write(`tsco: ${describeError(error)}\n`);
    process.exitCode = 1;
  },
);
