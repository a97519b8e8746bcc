#!/usr/bin/env node
/**
 * tsco: the tscollective client, in the style of MCollective's `mco`.
 *
 *   tsco [--config client.cfg] ping|discover|rpc|inventory|decode|keys|registration ...
 *
 * The configuration is `--config`, else `$TSCO_CONFIG`, else `~/.tscollective/client.cfg`. RPC commands exit
 * with MCollective's codes (0 ok, 1 nothing discovered and no responses, 2 some failed, 3 discovered but none
 * responded, 4 no discovery and no responses); any other error prints `tsco: CODE: message` and exits 1.
 */
import { Command, CommanderError } from 'commander';
import { ConfigError, TscError } from '../errors.js';
import { registerDecodeCommand } from './tsco/decode.js';
import { registerKeysCommands } from './tsco/keys-commands.js';
import { processStreams, type Streams } from './tsco/output.js';
import { registerRegistrationCommands } from './tsco/registration-commands.js';
import { registerRpcCommands } from './tsco/rpc-commands.js';

/** Builds the program; `run` receives each command's exit-code promise. */
export function buildProgram(streams: Streams, run: (work: Promise<number>) => void): Command {
  const program = new Command()
    .name('tsco')
    .description('tscollective client: discover nodes and run agent actions on them')
    .option('-c, --config <file>', 'client configuration (default: $TSCO_CONFIG, else ~/.tscollective/client.cfg)')
    .showHelpAfterError()
    .exitOverride();
  registerRpcCommands(program, streams, run);
  registerDecodeCommand(program, streams, run);
  registerKeysCommands(program, streams, run);
  registerRegistrationCommands(program, streams, run);
  return program;
}

/** The message printed for an error: its code and message for our errors, the stack for anything unexpected. */
export function describeError(error: unknown): string {
  if (error instanceof ConfigError) return `${error.code}: ${error.message}`;
  if (error instanceof TscError) return `${error.code}: ${error.message}${error.cause instanceof Error ? ` (${error.cause.message})` : ''}`;
  return `unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`;
}

/** Runs tsco with `argv` (without node and script); resolves to the exit code. */
export async function main(argv: readonly string[], streams: Streams = processStreams): Promise<number> {
  let work: Promise<number> | undefined;
  const program = buildProgram(streams, (promise) => { work = promise; });
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
    return 1;
  }
}

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (error: unknown) => {
    process.stderr.write(`tsco: ${describeError(error)}\n`);
    process.exitCode = 1;
  },
);
