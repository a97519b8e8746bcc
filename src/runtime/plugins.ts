/**
 * Building the security provider and the connector a program (daemon or client) is configured with, and
 * collecting every problem either reports, so start-up can list them all at once before touching the network.
 */
import { createConnector } from '../connector/registry.js';
import type { ConfigView } from '../inter/config.js';
import type { Connector } from '../inter/connector.js';
import type { Counters, Logger } from '../inter/logger.js';
import type { SecurityProvider, SecurityRole } from '../inter/security.js';
import { createSecurityProvider } from '../security/registry.js';

/** What to build: names from the configuration, or instances a caller injects (tests, the demo). */
export interface RuntimePluginOptions {
  config: ConfigView;
  role: SecurityRole;
  identity: string;
  securityProvider: string;
  connector: string;
  logger: Logger;
  counters: Counters;
  provider?: SecurityProvider;
  connectorInstance?: Connector;
  now?: () => number;
  /** A client's connect budget in ms (for example from `tsco -t`); the connector gives up connecting after it. */
  connectBudgetMs?: number;
}

/** Builds (or takes) the provider and connector and appends every problem they report to `problems`. */
export function buildRuntimePlugins(options: RuntimePluginOptions, problems: string[]): { provider?: SecurityProvider; connector?: Connector } {
  const { config, logger, counters } = options;
  const attempt = <T>(what: string, build: () => T): T | undefined => {
    try {
      return build();
    } catch (error) {
      problems.push(`${what}: ${(error as Error).message}`);
      return undefined;
    }
  };
  const provider = options.provider ?? attempt('securityprovider', () => createSecurityProvider(options.securityProvider, {
    config, role: options.role, logger: logger.child({ component: 'security' }), counters, ...(options.now ? { now: options.now } : {}),
  }));
  const connector = options.connectorInstance ?? attempt('connector', () =>
    createConnector(options.connector, {
      config, identity: options.identity, logger: logger.child({ component: 'connector' }), counters,
      // A client run gives up connecting within its budget; a server keeps trying.
      role: options.role === 'client' ? 'client' : 'daemon',
      ...(options.connectBudgetMs !== undefined ? { connectBudgetMs: options.connectBudgetMs } : {}),
    }));
  if (provider) problems.push(...provider.validate().map((p) => `${options.securityProvider}: ${p}`));
  if (connector) problems.push(...connector.validate().map((p) => `${options.connector}: ${p}`));
  return { ...(provider ? { provider } : {}), ...(connector ? { connector } : {}) };
}
