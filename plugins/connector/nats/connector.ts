/**
 * The NATS connector (`connector = nats`): the shared connector base (plugins/connector/common/base.ts) over the
 * core NATS driver (driver.ts), with Choria's subject layout (subjects.ts). Connection handling as every broker
 * connector: failover with back-off across `plugin.nats.pool.*`, reconnection with every subscription restored
 * before `connected`, publishes that wait up to `publish_timeout` for a connection and are confirmed by a
 * PING/PONG round trip (sent again after a lost connection), clients that fail fast with the reason.
 * Inbound messages over max_message_size are dropped by the parser guard (guard.ts) before they are assembled.
 */
import { BrokerConnector } from '../common/base.js';
import { poolInit } from '../common/driver.js';
import type { BrokerConnectorInit } from '../pool/options.js';
import { NatsDriver } from './driver.js';
import type { NatsOptions } from './options.js';

/** What a NatsConnector is built from. */
export interface NatsConnectorInit extends BrokerConnectorInit {
  options: NatsOptions;
}

/** A Connector over core NATS. */
export class NatsConnector extends BrokerConnector {
  constructor(init: NatsConnectorInit) {
    super({
      ...init,
      name: 'nats',
      driver: new NatsDriver(init.options, { identity: init.identity, counters: init.counters, logger: init.logger.child({ connector: 'nats' }) }),
      ...poolInit(init.options),
    });
  }
}
