/**
 * The connector conformance suite against RabbitMQ over AMQP 0-9-1 (127.0.0.1:5672, guest/guest).
 * The restart goes through scripts/brokers.sh (stop_app / start_app), as the STOMP suites do.
 */
import { createAmqpConnector } from '../../plugins/connector/amqp/index.js';
import { configFromObject } from '../../src/config/index.js';
import { MemoryCounters } from '../../src/util/counters.js';
import { CapturingLogger } from '../../src/util/log.js';
import { runConnectorSuite } from './connector-suite.js';
import { amqpGate, restartBroker } from './harness/brokers.js';

runConnectorSuite({
  name: 'amqp (rabbitmq 127.0.0.1:5672)',
  makeConnector: (identity) =>
    createAmqpConnector({
      config: configFromObject({
        'plugin.amqp.host': '127.0.0.1',
        'plugin.amqp.ttl_grace': 0,
        'plugin.amqp.initial_reconnect_delay': 0.1,
        'plugin.amqp.max_reconnect_delay': 1,
        'plugin.amqp.publish_timeout': 30,
      }),
      identity,
      logger: new CapturingLogger(),
      counters: new MemoryCounters(),
    }),
  gate: await amqpGate(),
  restartBroker: () => restartBroker('rabbitmq'),
  ttlGraceSeconds: 0,
  reconnectTimeoutMs: 90_000,
});
