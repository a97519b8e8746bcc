/**
 * Log and audit amplification: 100,000 junk messages through the pipeline write a bounded number of log lines
 * while every counter stays exact; the summary of suppressed lines is written (and flushed on stop); an oversize
 * request's audit line is capped at plugin.rpcaudit.max_data_bytes with a marker and the original size.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { MemoryBroker, MemoryConnector } from '../../plugins/connector/memory/index.js';
import type { NodeView } from '../../src/agent/types.js';
import { capAuditData } from '../../src/audit/logfile.js';
import { configFromObject } from '../../src/config/index.js';
import { PREAUTHORIZATION_PAYLOAD_BYTES } from '../../src/daemon/decode.js';
import { handleRequest, startDaemon, type PipelineHost } from '../../src/daemon/index.js';
import { AgentHost } from '../../src/daemon/agent-host.js';
import type { InboundMessage } from '../../src/inter/connector.js';
import { CapturingLogger } from '../../src/util/log.js';
import { LogLimiter } from '../../src/util/log-limiter.js';
import { MemoryCounters } from '../../src/util/counters.js';
import { testAgent } from './agents.js';
import { FakeSecurity } from './fake-security.js';
import { filter, tempDir, TestClient, waitFor } from './helpers.js';

const secrets = new Map([['node1', 'n-secret'], ['alice', 'a-secret']]);
const dir = tempDir('limits');

/** A pipeline host for node1 hosting testagent, logging into `logger` through a limiter with a still clock. */
async function pipelineHost(logger: CapturingLogger, counters: MemoryCounters): Promise<{ host: PipelineHost; limiter: LogLimiter }> {
  const config = configFromObject({ identity: 'node1', collectives: 'mcollective', 'plugin.yaml': join(dir, 'none.yaml') });
  const agents = new AgentHost({ config, activateAgents: true, agentDirs: [], extraAgents: [testAgent], logger });
  await agents.load();
  const limiter = new LogLimiter(logger, { now: () => 0, timer: false });
  const node = { identity: 'node1', collectives: ['mcollective'], mainCollective: 'mcollective', config, facts: () => ({}), classes: () => [], agents: () => [], stats: () => ({}) } satisfies NodeView;
  const host: PipelineHost = {
    identity: 'node1', collectives: ['mcollective'], logger, counters, limiter, node,
    provider: new FakeSecurity('node1', secrets),
    connector: new MemoryConnector({ identity: 'node1', logger, counters, broker: new MemoryBroker() }),
    authorizer: undefined, audit: undefined, preauthorizePayloadBytes: PREAUTHORIZATION_PAYLOAD_BYTES,
    shutdown: new AbortController().signal,
    hostedAgent: (name) => agents.get(name),
    nodeFacts: () => ({ identity: 'node1', facts: {}, classes: [], agents: agents.names() }),
    isStopping: () => false,
  };
  return { host, limiter };
}

describe('log amplification', () => {
  test('100,000 junk messages: exact counters, a bounded number of log lines, exact summaries', async () => {
    const logger = new CapturingLogger();
    const counters = new MemoryCounters();
    const { host, limiter } = await pipelineHost(logger, counters);
    const alice = new FakeSecurity('alice', secrets);
    const mallory = new FakeSecurity('mallory', new Map([['mallory', 'm']]));
    const request = (security: FakeSecurity, agent: string, i: number, parts = {}) => security.encodeRequest({
      requestid: i.toString(16).padStart(32, '0'), senderid: 'x', agent, collective: 'mcollective', filter: filter(parts), ttl: 60, body: { action: 'echo', data: {} },
    }).wire;
    const kinds: [string, (i: number) => Uint8Array][] = [
      ['malformed', (i) => new TextEncoder().encode(`junk ${i}`)],
      ['unknown sender', (i) => request(mallory, 'testagent', i)],
      ['misrouted', (i) => request(alice, 'nosuchagent', i)],
      ['bad filter', (i) => request(alice, 'testagent', i, { compound: ['country=uk and ('] })],
    ];
    const total = 100_000;
    for (let i = 0; i < total; i++) {
      const [, make] = kinds[i % kinds.length]!;
      const message: InboundMessage = { body: make(i), headers: {}, sender: 'attacker' };
      await handleRequest(host, message);
    }
    const each = total / kinds.length;
    assert.equal(counters.get('total'), total);
    assert.equal(counters.get('unvalidated'), 2 * each);
    assert.equal(counters.get('security.TSC_SEC_MALFORMED'), each);
    assert.equal(counters.get('security.TSC_SEC_UNKNOWN_SENDER'), each);
    assert.equal(counters.get('misrouted'), each);
    assert.equal(counters.get('bad_filter'), each);
    const beforeFlush = logger.records.length;
    assert.ok(beforeFlush <= 10 * kinds.length, `at most a burst of 10 per kind, got ${beforeFlush} lines`);
    limiter.close();
    const summaries = logger.records.filter((record) => record.fields['suppressed'] !== undefined);
    assert.equal(summaries.length, kinds.length, 'one summary per kind');
    for (const summary of summaries) assert.equal(summary.fields['suppressed'], each - 10, `${String(summary.fields['kind'])}: exact suppressed count`);
  });

  test('a running daemon rate-limits refusal lines and writes their summary when it stops', async () => {
    const broker = new MemoryBroker({ name: 'limits-daemon' });
    const logger = new CapturingLogger();
    const config = configFromObject({ identity: 'node1', collectives: 'mcollective', connector: 'memory', 'plugin.yaml': join(dir, 'none.yaml') });
    const daemon = await startDaemon(config, { provider: new FakeSecurity('node1', secrets), connector: new MemoryConnector({ identity: 'node1', logger, counters: new MemoryCounters(), broker }), logger, agents: [testAgent] });
    const attacker = new MemoryConnector({ identity: 'attacker', logger: new CapturingLogger(), counters: new MemoryCounters(), broker });
    await attacker.connect();
    for (let i = 0; i < 50; i++) await attacker.publishRequest({ collective: 'mcollective', agent: 'testagent', node: 'node1', body: new TextEncoder().encode(`junk ${i}`), ttl: 60 });
    await waitFor(() => daemon.stats().unvalidated === 50, 'every junk message');
    assert.equal(logger.find('warn', 'request refused by the security provider').length, 10);
    await daemon.stop();
    await attacker.disconnect();
    const summary = logger.records.find((record) => record.fields['kind'] === 'security.TSC_SEC_MALFORMED' && record.fields['suppressed'] !== undefined);
    assert.equal(summary?.fields['suppressed'], 40, 'the summary is flushed on stop');
  });
});

describe('audit amplification', () => {
  test('capAuditData keeps small data, cuts large data at the byte limit with a marker and the original size', () => {
    assert.deepEqual(capAuditData({ msg: 'hi' }, 64), { data: { msg: 'hi' } });
    const large = { blob: 'é'.repeat(100) };
    const capped = capAuditData(large, 64);
    assert.equal(capped.data_truncated, true);
    assert.equal(capped.data_bytes, Buffer.byteLength(JSON.stringify(large)));
    assert.equal(typeof capped.data, 'string');
    assert.ok(Buffer.byteLength(capped.data as string) <= 64);
    assert.ok(JSON.stringify(large).startsWith(capped.data as string), 'the kept part is the start of the data, no broken character');
  });

  test('an oversize request\'s audit line is capped at plugin.rpcaudit.max_data_bytes', async () => {
    const broker = new MemoryBroker({ name: 'limits-audit' });
    const auditLog = join(dir, 'audit.log');
    const logger = new CapturingLogger();
    const config = configFromObject({
      identity: 'node1', collectives: 'mcollective', connector: 'memory', 'plugin.yaml': join(dir, 'none.yaml'),
      rpcaudit: 1, 'plugin.rpcaudit.logfile': auditLog, 'plugin.rpcaudit.max_data_bytes': 1024,
    });
    const daemon = await startDaemon(config, { provider: new FakeSecurity('node1', secrets), connector: new MemoryConnector({ identity: 'node1', logger, counters: new MemoryCounters(), broker }), logger, agents: [testAgent] });
    const alice = new TestClient(broker, new FakeSecurity('alice', secrets));
    await alice.start();
    try {
      const data = { blob: 'x'.repeat(2_000_000) };
      const [reply] = await alice.call('testagent', 'greeting', data, { node: 'node1' });
      const [small] = await alice.call('testagent', 'echo', { msg: 'small' }, { node: 'node1' });
      const lines = readFileSync(auditLog, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
      const capped = lines.find((line) => line['requestid'] === reply!.requestid)!;
      assert.equal(capped['data_truncated'], true);
      assert.equal(capped['data_bytes'], JSON.stringify(data).length);
      assert.ok(Buffer.byteLength(String(capped['data'])) <= 1024);
      assert.ok(statSync(auditLog).size < 4096, 'the whole audit log stays small');
      const uncapped = lines.find((line) => line['requestid'] === small!.requestid)!;
      assert.deepEqual([uncapped['data'], 'data_truncated' in uncapped], [{ msg: 'small' }, false]);
      assert.equal(daemon.counters.get('audit.truncated'), 1);
    } finally {
      await alice.stop();
      await daemon.stop();
    }
  });
});
