/** The connector conformance suite against the in-process memory broker (stop/start as the restart). */
import { MemoryBroker, MemoryConnector } from '../../plugins/connector/memory/index.js';
import { CapturingLogger } from '../../src/util/log.js';
import { MemoryCounters } from '../../src/util/counters.js';
import { runConnectorSuite } from './connector-suite.js';

const broker = new MemoryBroker({ name: 'suite' });

runConnectorSuite({
  name: 'memory',
  makeConnector: (identity) =>
    new MemoryConnector({ identity, broker, logger: new CapturingLogger(), counters: new MemoryCounters(), options: { ttlGraceSeconds: 0 } }),
  restartBroker: async () => {
    broker.stop();
    await new Promise((resolve) => setTimeout(resolve, 50));
    broker.start();
  },
  ttlGraceSeconds: 0,
  reconnectTimeoutMs: 5000,
});
