/**
 * The `nats` connector plugin (core NATS, the transport of Choria): registers the connector factory and the
 * `plugin.nats.*` configuration schema. Configuration: `connector = nats`, `plugin.nats.pool.size`,
 * `plugin.nats.pool.N.host|port|user|password`, `pool.N.ssl` with `ssl.ca|cert|key`; see docs/connectors.md.
 * The NATS client library is loaded only when a connection is opened.
 */
import { registerConfigSchema } from '../../../src/config/index.js';
import { registerConnector } from '../../../src/connector/registry.js';
import type { Connector, ConnectorContext } from '../../../src/inter/connector.js';
import { NatsConnector } from './connector.js';
import { natsConfigSchema, readNatsOptions } from './options.js';

export { NatsConnector, type NatsConnectorInit } from './connector.js';
export { NatsDriver, type NatsDriverContext } from './driver.js';
export { explainNatsFailure, loadNats, openNatsConnection, type NatsModule, type OpenNatsOptions } from './connection.js';
export { ConfirmationBatcher } from './confirm.js';
export { MAX_HEADER_BYTES, guardConnection, type GuardEvents, type GuardLimits } from './guard.js';
export { DEFAULT_NATS_PORT, natsConfigSchema, readNatsOptions, type NatsOptions } from './options.js';
export { MAX_REPLY_SUBJECT, broadcastSubject, checkReplySubject, directedSubject, replySubject, subjectNameProblem } from './subjects.js';

/** Builds a NATS connector from a connector context (`connector = nats`). */
export function createNatsConnector(context: ConnectorContext): Connector {
  const { options, problems, warnings } = readNatsOptions(context.config);
  return new NatsConnector({
    identity: context.identity, options, logger: context.logger, counters: context.counters, configProblems: problems, configWarnings: warnings,
    ...(context.role ? { role: context.role } : {}),
    ...(context.connectBudgetMs !== undefined ? { connectBudgetMs: context.connectBudgetMs } : {}),
  });
}

registerConfigSchema(natsConfigSchema);
registerConnector('nats', createNatsConnector);
