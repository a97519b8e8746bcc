/**
 * The AMQP 0-9-1 connector (`connector = amqp`): the shared connector base (plugins/connector/common/base.ts)
 * over the AMQP driver (driver.ts), with MCollective's rabbitmq layout (topology.ts). Connection handling:
 * - connects to the first pool host that accepts, with MCollective's back-off between attempts; after losing
 *   the connection it reconnects the same way, declares its queues again and re-binds every subscription before
 *   reporting `connected`;
 * - a request publish goes through a ConfirmChannel and resolves only once the broker confirmed it; one made
 *   while disconnected, or cut off by a connection loss before its confirm, waits for the reconnection and is
 *   sent again, for at most `publish_timeout` in total, then fails with PublishError (at-least-once: a message
 *   confirmed-but-unacknowledged on a dying connection can arrive twice); a reply is written without a confirm;
 * - messages of one subscription reach its handler one at a time (requests acknowledged after the handler
 *   settles, `prefetch` unacknowledged at most; a client's replies taken without acknowledgements); a message past
 *   its `mc_expires` is dropped and counted; one larger than max_message_size is dropped at its content header,
 *   before its body is buffered.
 */
import { BrokerConnector } from '../common/base.js';
import { poolInit } from '../common/driver.js';
import type { BrokerConnectorInit } from '../pool/options.js';
import { AmqpDriver } from './driver.js';
import type { AmqpOptions } from './options.js';

/** What an AmqpConnector is built from. */
export interface AmqpConnectorInit extends BrokerConnectorInit {
  options: AmqpOptions;
}

/** A Connector over AMQP 0-9-1 (RabbitMQ). */
export class AmqpConnector extends BrokerConnector {
  constructor(init: AmqpConnectorInit) {
    super({
      ...init,
      name: 'amqp',
      driver: new AmqpDriver(init.options, { identity: init.identity, counters: init.counters, logger: init.logger.child({ connector: 'amqp' }) }),
      ...poolInit(init.options),
    });
    if (init.options.hosts.length === 0) this.problems.push('plugin.amqp: no broker configured (url, host or pool.N.host)');
  }
}
