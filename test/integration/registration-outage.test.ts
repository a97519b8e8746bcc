/**
 * Registrations through broker outages over RabbitMQ, on the AMQP and the STOMP connector: 5 registering nodes
 * that start before their collector, then two outages made by a TCP proxy in front of the broker (every
 * connection cut, new ones reset), so the shared RabbitMQ is never stopped. Same targets as the memory test:
 * every record fresh within one interval after each recovery, sent - stored == failed (acknowledgements lost or
 * late in the outage measured and accounted for).
 */
import { after, before, describe } from 'node:test';
import assert from 'node:assert/strict';
import '../../plugins/connector/amqp/index.js';
import '../../plugins/connector/stomp/index.js';
import { assertOutageTargets, formatFigures, runOutageScenario } from '../daemon/outage-scenario.js';
import { BROKERS, amqpGate, brokerGate, stompTestSettings } from './harness/brokers.js';
import { TcpProxy } from './harness/tcp-proxy.js';

const INTERVAL_SECONDS = 3;
const OUTAGES = 2;
const OUTAGE_MS = 4000;

const gates = { amqp: await amqpGate(), stomp: await brokerGate('rabbitmq') };

describe('registrations through RabbitMQ outages (TCP proxy)', () => {
  let amqpProxy: TcpProxy | undefined;
  let stompProxy: TcpProxy | undefined;

  before(async () => {
    if (gates.amqp.reachable) amqpProxy = await TcpProxy.start({ host: BROKERS.rabbitmq.host, port: BROKERS.rabbitmq.amqpPort! });
    if (gates.stomp.reachable) stompProxy = await TcpProxy.start({ host: BROKERS.rabbitmq.host, port: BROKERS.rabbitmq.stompPort });
  });

  after(async () => {
    await amqpProxy?.close();
    await stompProxy?.close();
  });

  gates.amqp.test('amqp connector: fresh after each recovery, none lost untraced', async (t) => {
    assert.ok(amqpProxy, 'the TCP proxy to RabbitMQ AMQP started');
    const proxy: TcpProxy = amqpProxy;
    const figures = await runOutageScenario({
      collective: `regout_amqp_${process.pid}`,
      nodes: 5, intervalSeconds: INTERVAL_SECONDS, outages: OUTAGES, outageMs: OUTAGE_MS, collectorDelayMs: 2000,
      connectorSettings: {
        connector: 'amqp', 'plugin.amqp.host': '127.0.0.1', 'plugin.amqp.port': proxy.port,
        'plugin.amqp.initial_reconnect_delay': 0.05, 'plugin.amqp.max_reconnect_delay': 0.5, 'plugin.amqp.publish_timeout': 1,
      },
      cut: (ms) => proxy.cut(ms),
    });
    t.diagnostic(`amqp via TCP proxy, 5 nodes, ${OUTAGES} outages of ${OUTAGE_MS / 1000} s, interval ${INTERVAL_SECONDS} s`);
    for (const line of formatFigures(figures)) t.diagnostic(line);
    assertOutageTargets(figures, INTERVAL_SECONDS, OUTAGES);
  });

  gates.stomp.test('rabbitmq STOMP connector: fresh after each recovery, none lost untraced', async (t) => {
    assert.ok(stompProxy, 'the TCP proxy to RabbitMQ STOMP started');
    const proxy: TcpProxy = stompProxy;
    const figures = await runOutageScenario({
      collective: `regout_stomp_${process.pid}`,
      nodes: 5, intervalSeconds: INTERVAL_SECONDS, outages: OUTAGES, outageMs: OUTAGE_MS, collectorDelayMs: 2000,
      connectorSettings: {
        connector: 'rabbitmq',
        ...stompTestSettings('rabbitmq', { 'pool.1.port': proxy.port, max_reconnect_delay: 0.5, publish_timeout: 1 }),
      },
      cut: (ms) => proxy.cut(ms),
    });
    t.diagnostic(`rabbitmq STOMP via TCP proxy, 5 nodes, ${OUTAGES} outages of ${OUTAGE_MS / 1000} s, interval ${INTERVAL_SECONDS} s`);
    for (const line of formatFigures(figures)) t.diagnostic(line);
    assertOutageTargets(figures, INTERVAL_SECONDS, OUTAGES);
  });
});
