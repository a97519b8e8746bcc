/**
 * What a connector is built from: the shared base (BrokerConnector), the driver contract a broker protocol
 * implements, serial delivery, argument checks and the max_message_size reader. A new broker (as NATS in
 * plugins/connector/nats) is a ConnectorDriver plus a few lines: `new BrokerConnector({ name, driver, hosts, ... })`.
 */
export { BrokerConnector } from './base.js';
export type { ConnectorBaseInit } from './driver.js';
export {
  describeRoute, poolInit, type PoolInit, type ConnectorDriver, type Deliver, type DriverSession, type OpenOptions, type OutboundMessage, type OversizeReport,
  type PublishRoute, type SessionEvents, type SubscribeRoute,
} from './driver.js';
export { Dispatcher, MAX_BACKLOG, type DispatchContext, type LimitedLog } from './dispatch.js';
export { DEFAULT_MAX_MESSAGE_SIZE, MAX_MAX_MESSAGE_SIZE, MIN_MAX_MESSAGE_SIZE, readMaxMessageSize, validMaxMessageSize } from './limits.js';
export { EXPIRES_HEADER, SENDER_HEADER, parseEpochMs } from './headers.js';
export { checkBody, checkHandler, checkName, checkPublishRequest, checkReplyTo, checkTtl, describe, guardArguments } from './arguments.js';
