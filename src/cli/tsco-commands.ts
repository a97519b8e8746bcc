/**
 * tsco's command modules and how a run picks the ones it needs: only the module of the command named on the command
 * line is imported (every module for help, no command or an unknown one), so `tsco rpc` does not load the key and
 * certificate code of `tsco keys`, and `tsco keys` does not load the RPC client.
 */
import { Command } from 'commander';
import type { Streams } from './tsco/output.js';
import { packageVersion } from './tsco/version.js';

/** Registers one module's commands on the program; `run` receives each command's exit-code promise. */
export type CommandRegistrar = (program: Command, streams: Streams, run: (work: Promise<number>) => void) => void;

/** A command module: the command names it registers (aliases included) and how to import its registrar. */
export interface CommandModule {
  names: readonly string[];
  load(): Promise<CommandRegistrar>;
}

/** Every command module of tsco, in help order. A command missing here still works (every module is loaded then). */
export const COMMAND_MODULES: readonly CommandModule[] = [
  { names: ['ping', 'discover', 'find', 'rpc', 'inventory'], load: async () => (await import('./tsco/rpc-commands.js')).registerRpcCommands },
  { names: ['facts'], load: async () => (await import('./tsco/facts.js')).registerFactsCommand },
  { names: ['decode'], load: async () => (await import('./tsco/decode.js')).registerDecodeCommand },
  { names: ['plugin'], load: async () => (await import('./tsco/plugin-doc.js')).registerPluginCommands },
  { names: ['keys'], load: async () => (await import('./tsco/keys-commands.js')).registerKeysCommands },
  { names: ['registration'], load: async () => (await import('./tsco/registration-commands.js')).registerRegistrationCommands },
  // Last: the completion script describes every command registered before it, so `completion` loads them all.
  { names: ['completion'], load: async () => (await import('./tsco/completion.js')).registerCompletionCommand },
];

/** Program options that take a value, so the word after them is not the command name. */
const VALUE_OPTIONS = new Set(['-c', '--config']);

/** The command named in `argv` (the first word that is neither an option nor an option's value), if any. */
export function commandName(argv: readonly string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i]!;
    if (word === '--') return argv[i + 1];
    if (VALUE_OPTIONS.has(word)) {
      i += 1;
      continue;
    }
    if (!word.startsWith('-')) return word;
  }
  return undefined;
}

/**
 * The command modules a run of `argv` needs: the named command's, none for `--version` alone, or all of them (help,
 * no or unknown command).
 */
export function modulesFor(argv: readonly string[]): readonly CommandModule[] {
  const name = commandName(argv);
  if (name === undefined && argv.some((word) => word === '-V' || word === '--version') && !argv.some((word) => word === '-h' || word === '--help')) return [];
  const found = name === undefined ? undefined : COMMAND_MODULES.find((module) => module.names.includes(name));
  return found && !found.names.includes('completion') ? [found] : COMMAND_MODULES;
}

/** Builds the program with the commands of `modules` (all by default); `run` receives each command's exit-code promise. */
export async function buildProgram(streams: Streams, run: (work: Promise<number>) => void, modules: readonly CommandModule[] = COMMAND_MODULES): Promise<Command> {
  const program = new Command()
    .name('tsco')
    .description('tscollective client: discover nodes and run agent actions on them')
    .option('-c, --config <file>', 'client configuration (default: $TSCO_CONFIG, else ~/.tscollective/client.cfg)')
    .option('--log-json', 'log JSON lines to standard error instead of human-readable ones')
    .version(packageVersion(), '-V, --version', 'print the version of tsco')
    .configureOutput({ writeOut: streams.out, writeErr: streams.err })
    .showHelpAfterError()
    .exitOverride();
  const registrars = await Promise.all(modules.map((module) => module.load()));
  for (const register of registrars) register(program, streams, run);
  return program;
}
