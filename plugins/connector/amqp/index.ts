/**
 * The `amqp` connector plugin (AMQP 0-9-1, RabbitMQ): registers the connector factory and the
 * `plugin.amqp.*` configuration schema. Configuration: `connector = amqp` and either
 * `plugin.amqp.url`, `plugin.amqp.host/port/user/password` (+ `ssl`, `ssl.ca|cert|key|verify`), or
 * MCollective's `plugin.amqp.pool.size` / `pool.N.*`; see docs/connectors.md.
 */
import { registerConfigSchema } from '../../../src/config/index.js';
import { registerConnector } from '../../../src/connector/registry.js';
import type { Connector, ConnectorContext } from '../../../src/inter/connector.js';
import { AmqpConnector } from './connector.js';
import { amqpConfigSchema, readAmqpOptions } from './options.js';

export { AmqpConnector, type AmqpConnectorInit } from './connector.js';
export {
  DEFAULT_AMQP_PORT, DEFAULT_AMQPS_PORT, DEFAULT_TTL_GRACE_SECONDS, amqpConfigSchema, hostFromUrl, readAmqpOptions, redact, type AmqpOptions,
} from './options.js';
export { broadcastExchange, directedExchange, publishProperties, parseDelivery, replyQueueName } from './topology.js';
export { AMQP_FRAME_MAX, openConnection } from './connection.js';
export { AmqpDriver } from './driver.js';
export { guardMessageSize, type OversizeDelivery } from './guard.js';

/** Builds an AMQP connector from a connector context (`connector = amqp`). */
export function createAmqpConnector(context: ConnectorContext): Connector {
  const { options, problems, warnings } = readAmqpOptions(context.config);
  return new AmqpConnector({
    identity: context.identity, options, logger: context.logger, counters: context.counters, configProblems: problems, configWarnings: warnings,
    ...(context.role ? { role: context.role } : {}),
    ...(context.connectBudgetMs !== undefined ? { connectBudgetMs: context.connectBudgetMs } : {}),
  });
}

registerConfigSchema(amqpConfigSchema);
registerConnector('amqp', createAmqpConnector);
