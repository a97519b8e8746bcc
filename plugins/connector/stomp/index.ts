/**
 * The STOMP connector plugins `activemq` and `rabbitmq` (MCollective 2.x compatible naming):
 * registers both connector factories and their `plugin.activemq.*` / `plugin.rabbitmq.*`
 * configuration schemas. See docs/brokers.md for the settings and the brokers' setup.
 */
import { registerConfigSchema } from '../../../src/config/index.js';
import { registerConnector } from '../../../src/connector/registry.js';
import type { ConnectorContext } from '../../../src/inter/connector.js';
import { ActiveMqDialect } from './activemq.js';
import { StompConnector } from './connector.js';
import { STOMP_CONFIG_SCHEMAS, type StompFlavor, readStompOptions } from './options.js';
import { RabbitMqDialect } from './rabbitmq.js';

export { ActiveMqDialect } from './activemq.js';
export { RabbitMqDialect, REPLY_EXCHANGE, collectiveExchanges } from './rabbitmq.js';
export { StompConnector, type StompConnectorInit } from './connector.js';
export type { StompDialect, SubscribeTarget, SendTarget, ReplyTarget } from './dialect.js';
export { StompDriver, toInboundMessage } from './driver.js';
export { FrameParser, MAX_HEADER_BYTES, encodeFrame, escapeHeader, unescapeHeader, type FrameLimits, type ParserEvents, type StompFrame } from './frame.js';
export {
  DEFAULT_AMQP_PORT, DEFAULT_STOMP_PORT, DEFAULT_VHOST, STOMP_CONFIG_SCHEMAS, TTL_GRACE_SECONDS, readStompOptions, stompConfigSchema,
  type StompFlavor, type StompOptions,
} from './options.js';
export { StompSession, type StompSessionCallbacks, type StompSessionOptions } from './session.js';

/** Builds the `activemq` or `rabbitmq` connector from a connector context. */
export function createStompConnector(flavor: StompFlavor, context: ConnectorContext): StompConnector {
  const { options, problems, warnings } = readStompOptions(context.config, flavor);
  const dialect = flavor === 'activemq' ? new ActiveMqDialect() : new RabbitMqDialect(options, context.logger.child({ connector: flavor }), context.role ?? 'daemon');
  return new StompConnector({
    identity: context.identity,
    options,
    dialect,
    logger: context.logger,
    counters: context.counters,
    configProblems: problems,
    configWarnings: warnings,
    ...(context.role ? { role: context.role } : {}),
    ...(context.connectBudgetMs !== undefined ? { connectBudgetMs: context.connectBudgetMs } : {}),
  });
}

registerConfigSchema(STOMP_CONFIG_SCHEMAS.activemq);
registerConfigSchema(STOMP_CONFIG_SCHEMAS.rabbitmq);
registerConnector('activemq', (context) => createStompConnector('activemq', context));
registerConnector('rabbitmq', (context) => createStompConnector('rabbitmq', context));
