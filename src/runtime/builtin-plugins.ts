/**
 * The plugin host shared by the client (tsco) and the daemon (tscollectived): the project's built-in connector and
 * security plugins, which register themselves in the connector and security registries (and their configuration
 * schemas) when imported. Their schemas must be registered before the configuration is read, so their keys
 * validate; their code only matters to a program that uses them. So there are two ways to load them:
 * - loadBuiltinPlugins(): every plugin (the daemon, tools and tests);
 * - loadBuiltinSchemas() before the configuration, then loadPluginsFor(names) with the connector and provider it
 *   names, and the plugin parts its settings turn on (tsco: a client run does not pay for the code of connectors it
 *   does not use, nor for aes_security's version 1 codec outside legacy mode).
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { registerConfigSchema } from '../config/schema-registry.js';
import type { ConfigSchema, ConfigView } from '../inter/config.js';

/** One built-in plugin: what it provides, its module, and a light module holding its configuration schemas. */
export interface BuiltinPlugin {
  kind: 'connector' | 'security';
  /** The names it registers (what `connector` or `securityprovider` says). */
  names: readonly string[];
  /** The plugin module, relative to this compiled file; importing it registers the plugin. */
  module: string;
  /** A module exporting the plugin's schemas (and importing little else), and the names of those exports. */
  schemas: { module: string; exports: readonly string[] };
  /**
   * Optional parts, relative to this compiled file: each is imported with the plugin when its boolean setting is
   * on (loadPluginsFor) or always (loadBuiltinPlugins). `module` then names the plugin without them.
   */
  parts?: readonly { module: string; setting: string }[];
}

/** Plugins shipped with the project, relative to this compiled file. */
export const BUILTIN_PLUGINS: readonly BuiltinPlugin[] = [
  {
    kind: 'connector', names: ['memory'], module: '../../plugins/connector/memory/index.js',
    schemas: { module: '../../plugins/connector/memory/options.js', exports: ['memoryConfigSchema'] },
  },
  {
    kind: 'connector', names: ['amqp'], module: '../../plugins/connector/amqp/index.js',
    schemas: { module: '../../plugins/connector/amqp/options.js', exports: ['amqpConfigSchema'] },
  },
  {
    kind: 'connector', names: ['activemq', 'rabbitmq'], module: '../../plugins/connector/stomp/index.js',
    schemas: { module: '../../plugins/connector/stomp/options.js', exports: ['STOMP_CONFIG_SCHEMAS'] },
  },
  {
    kind: 'connector', names: ['nats'], module: '../../plugins/connector/nats/index.js',
    schemas: { module: '../../plugins/connector/nats/options.js', exports: ['natsConfigSchema'] },
  },
  {
    kind: 'security', names: ['aes_security'], module: '../../plugins/security/aes_security/core.js',
    schemas: { module: '../../plugins/security/aes_security/schema.js', exports: ['aesConfigSchema'] },
    // The version 1 codec (Ruby MCollective 2.x messages) only matters in legacy mode.
    parts: [{ module: '../../plugins/security/aes_security/v1/register.js', setting: 'plugin.aes.legacy' }],
  },
];

/** What loading plugins did. */
export interface PluginLoadResult {
  loaded: string[];
  /** Modules present but failing to import, with the error (the plugin is then unavailable). */
  failed: string[];
}

/** The plugins named in a configuration (`connector`, `securityprovider`); absent names load nothing. */
export interface PluginSelection {
  connector?: string | undefined;
  securityprovider?: string | undefined;
  /** The configuration, for the settings that turn plugin parts on; without it every part is loaded. */
  config?: ConfigView | undefined;
}

async function importEach(relatives: readonly string[], use: (module: Record<string, unknown>, relative: string) => void = () => {}): Promise<PluginLoadResult> {
  const result: PluginLoadResult = { loaded: [], failed: [] };
  for (const relative of relatives) {
    const url = new URL(relative, import.meta.url);
    if (!existsSync(fileURLToPath(url))) continue;
    try {
      use((await import(url.href)) as Record<string, unknown>, relative);
      result.loaded.push(relative);
    } catch (error) {
      result.failed.push(`${fileURLToPath(url)}: ${(error as Error).message}`);
    }
  }
  return result;
}

/**
 * Imports every built-in plugin that is installed. A plugin that fails to import is reported
 * in `failed` rather than thrown, so one broken plugin only matters if the configuration uses
 * it (which then fails with "unknown connector X; known: ...").
 */
export async function loadBuiltinPlugins(): Promise<PluginLoadResult> {
  return importEach(BUILTIN_PLUGINS.flatMap((plugin) => [plugin.module, ...(plugin.parts ?? []).map((part) => part.module)]));
}

/** Registers the configuration schemas of every built-in plugin without importing the plugins themselves. */
export async function loadBuiltinSchemas(): Promise<PluginLoadResult> {
  const exportsOf = new Map(BUILTIN_PLUGINS.map((plugin) => [plugin.schemas.module, plugin.schemas.exports]));
  return importEach([...exportsOf.keys()], (module, relative) => {
    for (const name of exportsOf.get(relative)!) {
      const value = module[name] as ConfigSchema | Record<string, ConfigSchema> | undefined;
      if (!value || typeof value !== 'object') throw new Error(`exports no ${name}`);
      const schemas = 'namespace' in value && 'keys' in value ? [value as ConfigSchema] : Object.values(value as Record<string, ConfigSchema>);
      for (const schema of schemas) registerConfigSchema(schema);
    }
  });
}

/**
 * Imports the built-in plugins providing the selected connector and security provider. A name no built-in plugin
 * provides loads every plugin of its kind, so the registry's "unknown connector X; known: ..." lists them all.
 */
export async function loadPluginsFor(selection: PluginSelection): Promise<PluginLoadResult> {
  const wanted = (['connector', 'security'] as const).flatMap((kind) => {
    const name = kind === 'connector' ? selection.connector : selection.securityprovider;
    if (name === undefined) return [];
    const ofKind = BUILTIN_PLUGINS.filter((plugin) => plugin.kind === kind);
    const providing = ofKind.filter((plugin) => plugin.names.includes(name));
    return providing.length > 0 ? providing : ofKind;
  });
  const partOn = (setting: string): boolean => {
    try {
      return selection.config?.boolean(setting) ?? true;
    } catch {
      // An invalid value is reported by validation; the part is loaded so nothing else fails for its absence.
      return true;
    }
  };
  return importEach(wanted.flatMap((plugin) => [plugin.module, ...(plugin.parts ?? []).filter((part) => partOn(part.setting)).map((part) => part.module)]));
}
