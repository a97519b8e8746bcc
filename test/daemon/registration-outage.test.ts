/**
 * Registrations through broker outages, over the memory connector: 5 registering nodes that start before their
 * collector, then two outages longer than the registration interval (MemoryBroker.stop/start). Targets: every
 * node's record is fresh within one interval after each recovery (the node registers again as soon as its
 * connection returns), and no registration is lost without a trace: sent - stored == failed, where the only
 * registrations counted failed yet stored are those whose acknowledgement was lost or late (measured here).
 */
import { test } from 'node:test';
import { MemoryBroker, MemoryConnector } from '../../plugins/connector/memory/index.js';
import { MemoryCounters } from '../../src/util/counters.js';
import { assertOutageTargets, formatFigures, runOutageScenario } from './outage-scenario.js';

const INTERVAL_SECONDS = 2;

test('registrations through two broker outages over the memory connector: fresh after each recovery, none lost untraced', async (t) => {
  const broker = new MemoryBroker({ name: `registration-outage-${process.pid}` });
  const figures = await runOutageScenario({
    collective: 'mcollective',
    nodes: 5,
    intervalSeconds: INTERVAL_SECONDS,
    outages: 2,
    outageMs: 3000,
    collectorDelayMs: 1500,
    connectorSettings: { connector: 'memory' },
    connectorFor: (identity, logger) => new MemoryConnector({ identity, logger, counters: new MemoryCounters(), broker, options: { publishTimeoutMs: 500 } }),
    cut: async (ms) => {
      broker.stop();
      await new Promise((resolve) => setTimeout(resolve, ms));
      broker.start();
    },
  });
  t.diagnostic('memory connector, 5 nodes, 2 outages of 3 s, interval 2 s');
  for (const line of formatFigures(figures)) t.diagnostic(line);
  assertOutageTargets(figures, INTERVAL_SECONDS, 2);
});
