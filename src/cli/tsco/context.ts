/**
 * What every tsco command starts from: the configuration file (`--config`, else `$TSCO_CONFIG`, else
 * `~/.tscollective/client.cfg`), loaded after the built-in plugins so their settings validate.
 */
import { homedir } from 'node:os';
import { join } from 'node:path';
import { Config, loadConfig } from '../../config/index.js';
import { validateClientConfig } from '../../client/from-config.js';
import { ConfigError } from '../../errors.js';
import { loadBuiltinPlugins } from '../../runtime/builtin-plugins.js';
import type { ConfigView } from '../../inter/config.js';
import type { Streams } from './output.js';

/** Options every command inherits from the program. */
export interface GlobalOptions {
  config?: string;
  /** Log JSON lines (pino) to standard error instead of human-readable ones. */
  logJson?: boolean;
}

/** The configuration file tsco reads: the option, else `$TSCO_CONFIG`, else `~/.tscollective/client.cfg`. */
export function configPath(option: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  return option ?? env['TSCO_CONFIG'] ?? join(homedir(), '.tscollective', 'client.cfg');
}

/** Loads the plugins, then the configuration; warnings go to standard error. Throws ConfigError. */
export async function loadClientConfig(globals: GlobalOptions, streams: Streams): Promise<ConfigView> {
  const plugins = await loadBuiltinPlugins();
  for (const failure of plugins.failed) streams.err(`tsco: warning: plugin not available: ${failure}\n`);
  let config: Config;
  try {
    config = loadConfig(configPath(globals.config));
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    for (const warning of error.warnings) streams.err(`tsco: warning: ${warning}\n`);
    // Invalid values in the file do not hide what the provider and connector find in the rest of it.
    if (!(error.partial instanceof Config)) throw error;
    const later = validateClientConfig(error.partial).filter((problem) => !error.problems.includes(problem));
    throw later.length === 0 ? error : new ConfigError([...error.problems, ...later], { cause: error });
  }
  for (const warning of config.warnings) streams.err(`tsco: warning: ${warning}\n`);
  return config;
}
