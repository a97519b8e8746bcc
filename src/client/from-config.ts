/**
 * Building a ready RpcClient from a configuration: the client-role security provider and the connector
 * named by the configuration, every problem reported at once before touching the network.
 */
import { ConfigError } from '../errors.js';
import type { ConfigView } from '../inter/config.js';
import type { Connector } from '../inter/connector.js';
import type { Counters, Logger } from '../inter/logger.js';
import type { SecurityProvider } from '../inter/security.js';
import { MemoryCounters } from '../util/counters.js';
import { CapturingLogger, createLogger } from '../util/log.js';
import { RpcClient } from './client.js';
import { loadPluginsFor } from '../runtime/builtin-plugins.js';
import { buildRuntimePlugins } from '../runtime/plugins.js';
import { readClientSettings, type ClientSettings } from './settings.js';

/** Collaborators a caller may inject instead of having them built from the configuration. */
export interface ClientBuildOptions {
  logger?: Logger;
  counters?: Counters;
  connector?: Connector;
  provider?: SecurityProvider;
  /** Overrides the configured identity (tests, the demo). */
  identity?: string;
  /**
   * The most ms connecting may take, when lower than the connector's `connect_timeout` (`tsco -t`). A client
   * connector gives up within it (or at once when every broker refused it for good) with a BrokerUnavailableError.
   */
  connectBudgetMs?: number;
}

/** A connected client and what it was built from; `close()` releases everything. */
export interface ClientSession {
  client: RpcClient;
  settings: ClientSettings;
  connector: Connector;
  provider: SecurityProvider;
  logger: Logger;
  counters: Counters;
  close(): Promise<void>;
}

/** What connecting builds before it touches the network, and every problem found doing so (plugins must be loaded). */
function prepare(config: ConfigView, options: ClientBuildOptions) {
  const { settings, problems } = readClientSettings(config);
  if (options.identity !== undefined) settings.identity = options.identity;
  const logger = options.logger ?? createLogger({ level: settings.loglevel, file: settings.logfile, rotation: settings.logRotation, name: 'tsco' });
  const counters = options.counters ?? new MemoryCounters();
  const { provider, connector } = buildRuntimePlugins({
    config, role: 'client', identity: settings.identity, securityProvider: settings.securityProvider, connector: settings.connector,
    logger, counters, ...(options.provider ? { provider: options.provider } : {}), ...(options.connector ? { connectorInstance: options.connector } : {}),
    ...(options.connectBudgetMs !== undefined ? { connectBudgetMs: options.connectBudgetMs } : {}),
  }, problems);
  return { settings, problems, logger, counters, provider, connector };
}

/**
 * Every problem that would stop a client from connecting with `config` (client settings, provider and
 * connector validation), without connecting. Load the builtin plugins first.
 */
export function validateClientConfig(config: ConfigView): string[] {
  return prepare(config, { logger: new CapturingLogger() }).problems;
}

/**
 * Builds the provider (role `client`) and connector from `config`, validates both, connects, and returns the
 * client. Register the plugins' schemas (loadBuiltinSchemas or loadBuiltinPlugins) before loading `config`, so plugin settings validate. Throws ConfigError
 * listing every problem; BrokerUnavailableError (a ConnectionError) when no broker could be reached within the
 * connector's connect_timeout (or `connectBudgetMs`), or at once when every broker refused the credentials or TLS.
 */
export async function connectClient(config: ConfigView, options: ClientBuildOptions = {}): Promise<ClientSession> {
  // Normally already loaded (tsco loads them with the configuration); imports are cached.
  const { settings: named } = readClientSettings(config);
  const failedPlugins = (await loadPluginsFor({
    ...(options.connector ? {} : { connector: named.connector }), ...(options.provider ? {} : { securityprovider: named.securityProvider }), config,
  })).failed;
  const { settings, problems, logger, counters, provider, connector } = prepare(config, options);
  for (const failure of failedPlugins) logger.warn({ failure }, 'plugin not available');
  if (problems.length > 0 || !provider || !connector) throw new ConfigError(problems);

  try {
    await connector.connect();
  } catch (error) {
    // Nothing of a failed connect may keep the process alive (timers, half-open sockets).
    await connector.disconnect().catch(() => undefined);
    throw error;
  }
  const client = new RpcClient({
    identity: settings.identity, connector, security: provider, logger, counters,
    mainCollective: settings.mainCollective, collectives: settings.collectives,
    directAddressingThreshold: settings.directAddressingThreshold, directAddressing: settings.directAddressing,
    limitMethod: settings.limitMethod, ttl: settings.ttl,
    timeoutMs: settings.timeoutMs, discoveryTimeoutMs: settings.discoveryTimeoutMs,
  });
  return {
    client, settings, connector, provider, logger, counters,
    close: async () => {
      await client.close();
      await connector.disconnect();
    },
  };
}
