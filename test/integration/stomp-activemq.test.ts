/** The connector conformance suite against a real ActiveMQ over STOMP (scripts/brokers.sh start activemq). */
import '../../plugins/connector/stomp/index.js';
import { configFromObject } from '../../src/config/index.js';
import { createConnector } from '../../src/connector/registry.js';
import { MemoryCounters } from '../../src/util/counters.js';
import { CapturingLogger } from '../../src/util/log.js';
import { TTL_GRACE_SECONDS } from '../../plugins/connector/stomp/index.js';
import { runConnectorSuite } from './connector-suite.js';
import { BROKERS, brokerGate, restartBroker, stompTestSettings } from './harness/brokers.js';

runConnectorSuite({
  name: `activemq (STOMP ${BROKERS.activemq.host}:${BROKERS.activemq.stompPort})`,
  makeConnector: (identity) =>
    createConnector('activemq', {
      config: configFromObject(stompTestSettings('activemq'), { source: 'stomp-activemq.test' }),
      identity,
      logger: new CapturingLogger(),
      counters: new MemoryCounters(),
    }),
  gate: await brokerGate('activemq'),
  restartBroker: () => restartBroker('activemq'),
  ttlGraceSeconds: TTL_GRACE_SECONDS,
  reconnectTimeoutMs: 90_000,
});
