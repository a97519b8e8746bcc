/**
 * The plugin host shared by the client (tsco) and the daemon (tscollectived): loads the project's built-in
 * connector and security plugins, which register themselves in the connector and security registries (and their
 * configuration schemas) when imported. They must load before the configuration is read, so their keys validate.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Plugin modules shipped with the project, relative to this compiled file. */
const BUILTIN_PLUGINS = [
  '../../plugins/connector/memory/index.js',
  '../../plugins/connector/amqp/index.js',
  '../../plugins/connector/stomp/index.js',
  '../../plugins/connector/nats/index.js',
  '../../plugins/security/aes_security/index.js',
];

/** What loadBuiltinPlugins did. */
export interface PluginLoadResult {
  loaded: string[];
  /** Modules present but failing to import, with the error (the plugin is then unavailable). */
  failed: string[];
}

/**
 * Imports every built-in plugin that is installed. A plugin that fails to import is reported
 * in `failed` rather than thrown, so one broken plugin only matters if the configuration uses
 * it (which then fails with "unknown connector X; known: ...").
 */
export async function loadBuiltinPlugins(): Promise<PluginLoadResult> {
  const result: PluginLoadResult = { loaded: [], failed: [] };
  for (const relative of BUILTIN_PLUGINS) {
    const url = new URL(relative, import.meta.url);
    if (!existsSync(fileURLToPath(url))) continue;
    try {
      await import(url.href);
      result.loaded.push(relative);
    } catch (error) {
      result.failed.push(`${fileURLToPath(url)}: ${(error as Error).message}`);
    }
  }
  return result;
}
