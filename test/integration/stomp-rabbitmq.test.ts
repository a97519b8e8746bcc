/** The connector conformance suite against a real RabbitMQ over STOMP (scripts/brokers.sh start rabbitmq). */
import '../../plugins/connector/stomp/index.js';
import { configFromObject } from '../../src/config/index.js';
import { createConnector } from '../../src/connector/registry.js';
import { MemoryCounters } from '../../src/util/counters.js';
import { CapturingLogger } from '../../src/util/log.js';
import { TTL_GRACE_SECONDS } from '../../plugins/connector/stomp/index.js';
import { runConnectorSuite } from './connector-suite.js';
import { BROKERS, brokerGate, restartBroker, stompTestSettings } from './harness/brokers.js';

runConnectorSuite({
  name: `rabbitmq (STOMP ${BROKERS.rabbitmq.host}:${BROKERS.rabbitmq.stompPort})`,
  makeConnector: (identity) =>
    createConnector('rabbitmq', {
      config: configFromObject(stompTestSettings('rabbitmq'), { source: 'stomp-rabbitmq.test' }),
      identity,
      logger: new CapturingLogger(),
      counters: new MemoryCounters(),
    }),
  gate: await brokerGate('rabbitmq'),
  restartBroker: () => restartBroker('rabbitmq'),
  ttlGraceSeconds: TTL_GRACE_SECONDS,
  reconnectTimeoutMs: 90_000,
});
