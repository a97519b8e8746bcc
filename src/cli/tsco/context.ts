/**
 * What every tsco command starts from: the configuration file (`--config`, else `$TSCO_CONFIG`, else
 * `~/.tscollective/client.cfg`), loaded after the built-in plugins' schemas so their settings validate; then
 * only the connector and security provider it names are imported.
 */
import { homedir } from 'node:os';
import { join } from 'node:path';
import { Config, loadConfig } from '../../config/index.js';
import { readClientSettings } from '../../client/settings.js';
import { ConfigError } from '../../errors.js';
import { loadBuiltinSchemas, loadPluginsFor, type PluginSelection } from '../../runtime/builtin-plugins.js';
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

/** The connector and security provider `config` names (their defaults when unset). */
function selection(config: ConfigView): PluginSelection {
  const { settings } = readClientSettings(config);
  return { connector: settings.connector, securityprovider: settings.securityProvider, config };
}

/** Loads the plugin schemas, the configuration, then the plugins it names; warnings go to standard error. Throws ConfigError. */
export async function loadClientConfig(globals: GlobalOptions, streams: Streams): Promise<ConfigView> {
  const schemas = await loadBuiltinSchemas();
  const warnFailed = (failed: readonly string[]) => {
    for (const failure of failed) streams.err(`tsco: warning: plugin not available: ${failure}\n`);
  };
  warnFailed(schemas.failed);
  let config: Config;
  try {
    config = loadConfig(configPath(globals.config));
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    for (const warning of error.warnings) streams.err(`tsco: warning: ${warning}\n`);
    // Invalid values in the file do not hide what the provider and connector find in the rest of it.
    if (!(error.partial instanceof Config)) throw error;
    warnFailed((await loadPluginsFor(selection(error.partial))).failed);
    // Imported here: a command that only reads the configuration (tsco keys) does not load the client.
    const { validateClientConfig } = await import('../../client/from-config.js');
    const later = validateClientConfig(error.partial).filter((problem) => !error.problems.includes(problem));
    throw later.length === 0 ? error : new ConfigError([...error.problems, ...later], { cause: error });
  }
  for (const warning of config.warnings) streams.err(`tsco: warning: ${warning}\n`);
  warnFailed((await loadPluginsFor(selection(config))).failed);
  return config;
}
