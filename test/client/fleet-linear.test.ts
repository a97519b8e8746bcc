/**
 * A client's work grows linearly with the fleet (docs/client.md): a discovery, a broadcast call to every node found,
 * a call some nodes never answer, and tsco's output (each reply, the summary, the aggregates, the --json document),
 * run against n and 2n virtual nodes (bench/virtual-fleet.ts, memory connector, a cipher-free provider). V8's precise
 * coverage counts how often every block of the client, the connector base, the memory connector and the output
 * code ran: doubling the fleet may at most double each count (plus a sort's log factor and a constant), so a loop
 * over the replies inside a loop over the replies (n², 4x) fails. Counts, never times. Also the queues fan-in
 * goes through (Fifo), at a length where Array#shift would copy.
 */
import assert from 'node:assert/strict';
import { Session } from 'node:inspector/promises';
import { describe, test } from 'node:test';
import { VirtualFleet } from '../../bench/virtual-fleet.js';
import { Fifo } from '../../plugins/connector/common/fifo.js';
import '../../plugins/connector/memory/index.js';
import rpcutil from '../../plugins/agent/rpcutil.js';
import { formatSummary, jsonDocument } from '../../src/cli/tsco/output.js';
import { formatAggregates, formatDescribedReply } from '../../src/cli/tsco/rpc-format.js';
import { RpcClient, computeAggregates } from '../../src/client/index.js';
import { configFromObject } from '../../src/config/index.js';
import { createConnector } from '../../src/connector/registry.js';
import type { Logger } from '../../src/inter/logger.js';
import { PlainSecurity } from './fakes.js';
import { MemoryCounters } from '../../src/util/counters.js';

const silent: Logger = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {}, child: () => silent };

/** A discovery, a call to all, a call a tenth of the fleet ignores, and tsco's output, against `nodes` virtual nodes. */
async function scenario(nodes: number, run: string): Promise<void> {
  const security = new PlainSecurity();
  const connector = (identity: string, role: 'client' | 'daemon') => createConnector('memory', {
    config: configFromObject({ 'plugin.memory.broker': `linear-${process.pid}-${run}` }), identity, logger: silent, counters: new MemoryCounters(), role,
  });
  const fleetConnector = connector('fleet', 'daemon');
  const clientConnector = connector('tester', 'client');
  await fleetConnector.connect();
  await clientConnector.connect();
  const identity = (index: number) => `node${index}`;
  const fleet = await VirtualFleet.start({
    connector: fleetConnector, collective: 'linear', agents: ['discovery', 'rpcutil'], batch: 50,
    plan: (wire, agent) => {
      const request = security.decodeRequest(wire);
      // rpcutil#get_fact: a tenth of the fleet does not answer (the call ends at its timeout with noResponses).
      const silentTenth = (request.body as { action?: string }).action === 'get_fact';
      return {
        count: silentTenth ? nodes - nodes / 10 : nodes,
        encode: (index) => security.encodeReply({
          senderid: identity(index), senderagent: agent,
          body: agent === 'discovery' ? 'pong' : { statuscode: index % 7 === 0 ? 5 : 0, statusmsg: 'OK', data: { pong: index, value: `v${index % 3}` } },
        }, request),
      };
    },
  });
  const client = new RpcClient({ identity: 'tester', connector: clientConnector, security, logger: silent, counters: new MemoryCounters(), mainCollective: 'linear' });
  try {
    const found = await client.discover({ discoveryTimeoutMs: 1500 });
    assert.equal(found.length, nodes);
    const pings = await client.call('rpcutil', 'ping', {}, { nodes: found, timeoutMs: 30_000 });
    assert.equal(pings.items.length, nodes);
    const facts = await client.call('rpcutil', 'get_fact', { fact: 'x' }, { nodes: found, timeoutMs: 1500 });
    assert.equal(facts.stats.noResponses.length, nodes / 10);
    for (const result of [pings, facts]) {
      for (const item of result.items) formatDescribedReply(item, rpcutil.ddl.actions['ping']);
      formatSummary(result.stats, true);
      formatAggregates(computeAggregates(rpcutil.ddl.actions['get_fact']!, result.items));
      jsonDocument(result.items, result.stats);
    }
    fleet.check();
  } finally {
    await client.close();
    await fleet.stop();
    await clientConnector.disconnect();
    await fleetConnector.disconnect();
  }
}

/** Code whose counts are checked: the client, the connector base and memory connector, tsco's output. */
const CHECKED = /\/dist\/(src\/client\/|plugins\/connector\/(common|memory)\/|src\/cli\/tsco\/(output|rpc-format)\.js)/;

type Coverage = Map<string, number>;

async function counted(session: Session, work: () => Promise<void>): Promise<Coverage> {
  await session.post('Profiler.takePreciseCoverage');
  await work();
  const { result } = await session.post('Profiler.takePreciseCoverage');
  const counts: Coverage = new Map();
  for (const script of result) {
    if (!CHECKED.test(script.url)) continue;
    for (const fn of script.functions) {
      for (const range of fn.ranges) counts.set(`${script.url.replace(/^.*\/dist\//, '')}:${fn.functionName || '(anonymous)'}@${range.startOffset}`, range.count);
    }
  }
  return counts;
}

describe('a fleet at the client', () => {
  test('doubling the fleet at most doubles how often any client, connector or output code runs', async () => {
    const session = new Session();
    session.connect();
    try {
      await session.post('Profiler.enable');
      await session.post('Profiler.startPreciseCoverage', { callCount: true, detailed: true });
      await scenario(100, 'warm');
      const small = await counted(session, () => scenario(400, 'small'));
      const large = await counted(session, () => scenario(800, 'large'));
      const offenders: string[] = [];
      let grown = 0;
      for (const [block, count] of large) {
        const before = small.get(block) ?? 0;
        if (count >= 800) grown++;
        // A sort's comparisons grow by 2 * log(800)/log(400), about 2.24; a quadratic loop by 4.
        if (count > 2.5 * before + 50) offenders.push(`${block}: ${before} -> ${count}`);
      }
      assert.ok(grown > 20, `the scenario exercised per-node code (${grown} blocks ran at least once per node)`);
      assert.deepEqual(offenders, [], 'blocks whose count more than doubled when the fleet doubled');
    } finally {
      await session.post('Profiler.stopPreciseCoverage');
      session.disconnect();
    }
  });

  test('fan-in queues stay first-in first-out and compact at lengths where Array#shift copies', () => {
    const fifo = new Fifo<number>();
    for (let i = 0; i < 50_000; i++) fifo.push(i);
    for (let i = 0; i < 40_000; i++) assert.equal(fifo.shift(), i);
    assert.equal(fifo.length, 10_000);
    assert.ok((fifo as unknown as { items: unknown[] }).items.length <= 20_000, 'the consumed prefix was dropped');
    for (let i = 50_000; i < 60_000; i++) fifo.push(i);
    assert.deepEqual(fifo.drain(), Array.from({ length: 20_000 }, (_, i) => 40_000 + i));
    assert.equal(fifo.shift(), undefined);
    assert.equal(fifo.length, 0);
  });
});
