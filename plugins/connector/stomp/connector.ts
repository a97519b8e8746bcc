/**
 * The STOMP connector, shared by the `activemq` and `rabbitmq` connectors: the shared connector base
 * (plugins/connector/common/base.ts) over the STOMP driver, with the flavor's dialect doing the naming.
 * Failover across the pool with back-off, heart-beats, resubscription after a reconnect (`connected` is reported
 * only once every subscription is back), and publishes that wait up to `publish_timeout` for a connection and are
 * confirmed by a broker RECEIPT, or fail with PublishError; never dropped silently.
 */
import { BrokerConnector } from '../common/base.js';
import { poolInit } from '../common/driver.js';
import type { BrokerConnectorInit } from '../pool/options.js';
import type { StompDialect } from './dialect.js';
import { StompDriver } from './driver.js';
import type { StompOptions } from './options.js';

/** What a StompConnector is built from. */
export interface StompConnectorInit extends BrokerConnectorInit {
  options: StompOptions;
  dialect: StompDialect;
}

/** A Connector speaking STOMP to ActiveMQ or RabbitMQ. */
export class StompConnector extends BrokerConnector {
  constructor(init: StompConnectorInit) {
    super({
      ...init,
      name: init.dialect.flavor,
      driver: new StompDriver(init.options, init.dialect),
      ...poolInit(init.options),
    });
  }
}
