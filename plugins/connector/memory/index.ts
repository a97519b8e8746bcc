/**
 * The `memory` connector plugin: registers the connector factory and exports the in-process broker.
 * Configuration: `connector = memory`, `plugin.memory.broker = <name>` (default `default`),
 * `plugin.memory.ttl_grace`, `plugin.memory.publish_timeout`, `plugin.memory.connect_timeout`.
 */
import { registerConfigSchema } from '../../../src/config/index.js';
import { registerConnector } from '../../../src/connector/registry.js';
import type { Connector, ConnectorContext } from '../../../src/inter/connector.js';
import { MemoryConnector } from './connector.js';
import { memoryConfigSchema, readMemoryOptions } from './options.js';

export { MemoryBroker, MemorySession, broadcastDestination, directedDestination, isReplyDestination } from './broker.js';
export type { MemoryBrokerOptions, MemoryDeliver, MemoryEnvelope } from './broker.js';
export { MemoryConnector, type MemoryConnectorInit } from './connector.js';
export { DEFAULT_MEMORY_OPTIONS, memoryConfigSchema, readMemoryOptions, validateMemoryOptions, type MemoryOptions } from './options.js';

/** Builds a memory connector from a connector context (`connector = memory`). */
export function createMemoryConnector(context: ConnectorContext): Connector {
  const { options, problems } = readMemoryOptions(context.config);
  return new MemoryConnector({
    identity: context.identity, logger: context.logger, counters: context.counters, options, configProblems: problems,
    ...(context.role ? { role: context.role } : {}),
    ...(context.connectBudgetMs !== undefined ? { connectBudgetMs: context.connectBudgetMs } : {}),
  });
}

registerConfigSchema(memoryConfigSchema);
registerConnector('memory', createMemoryConnector);
