/**
 * The reusable broker-pool machinery shared by the STOMP and AMQP connectors: pool settings and
 * their schema, back-off, failover across hosts, and the publish readiness gate.
 */
export { Backoff, DEFAULT_RECONNECT_POLICY, validateReconnectPolicy, type ReconnectPolicy } from './backoff.js';
export {
  DEFAULT_AMQP_PORT, MIN_HEARTBEAT_SECONDS, TTL_GRACE_SECONDS, poolSettingSpecs, readPoolOptions,
  type BrokerConnectorInit, type PoolHost, type PoolOptions, type PoolOptionsResult, type PoolReadOptions, type PoolSettingDefaults,
} from './options.js';
export {
  HostRotation, abortableSleep, connectWithFailover, describeFailure, describeHost, type FailoverOptions, type FailoverResult,
} from './failover.js';
export { REASON_TEXT, connectFailureReason, isPermanent, oneLine } from './failure.js';
export { ReadyGate } from './gate.js';
export { tlsOptionsFor } from './tls.js';
