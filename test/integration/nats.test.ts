/**
 * The connector conformance suite against the shared NATS server (127.0.0.1:4222, no authentication). The shared
 * server is never restarted: nats-outage.test.ts restarts a private nats-server instead.
 */
import { createNatsConnector } from '../../plugins/connector/nats/index.js';
import { configFromObject } from '../../src/config/index.js';
import { MemoryCounters } from '../../src/util/counters.js';
import { CapturingLogger } from '../../src/util/log.js';
import { runConnectorSuite } from './connector-suite.js';
import { NATS, natsGate, natsTestSettings } from './harness/nats.js';

runConnectorSuite({
  name: `nats (${NATS.host}:${NATS.port})`,
  makeConnector: (identity) =>
    createNatsConnector({
      config: configFromObject(natsTestSettings(), { source: 'nats.test' }),
      identity,
      logger: new CapturingLogger(),
      counters: new MemoryCounters(),
    }),
  gate: await natsGate(),
  ttlGraceSeconds: 0,
});
