/**
 * The daemon's Prometheus endpoint (plugin.prometheus.*, src/metrics/): off by default, on loopback by default,
 * a valid text exposition of the daemon_stats, security and other counters, bad requests refused, counted and
 * logged at a bounded rate, bad settings and a busy port refused at start-up, and closed on stop.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, connect, type AddressInfo, type Socket } from 'node:net';
import { join } from 'node:path';
import { MemoryBroker, MemoryConnector } from '../../plugins/connector/memory/index.js';
import { configFromObject } from '../../src/config/index.js';
import { COUNTER, DAEMON_VERSION, startDaemon, type DaemonHandle } from '../../src/daemon/index.js';
import { ConfigError, MetricsEndpointError } from '../../src/errors.js';
import { daemonCounterMetric, renderMetrics } from '../../src/metrics/index.js';
import { CapturingLogger } from '../../src/util/log.js';
import { MemoryCounters } from '../../src/util/counters.js';
import { testAgent } from './agents.js';
import { FakeSecurity } from './fake-security.js';
import { tempDir, TestClient, waitFor } from './helpers.js';

const secrets = new Map(['alice', 'metrics1', 'metrics-off', 'metrics-busy', 'metrics-stop'].map((name) => [name, `${name}-secret`]));
const dir = tempDir('metrics');
const broker = new MemoryBroker({ name: 'metrics-test' });

async function node(identity: string, settings: Record<string, string | number>, logger = new CapturingLogger()): Promise<DaemonHandle> {
  const config = configFromObject({ identity, collectives: 'mcollective', connector: 'memory', 'plugin.yaml': join(dir, 'none.yaml'), ...settings });
  const connector = new MemoryConnector({ identity, logger, counters: new MemoryCounters(), broker });
  return startDaemon(config, { provider: new FakeSecurity(identity, secrets), connector, logger, agents: [testAgent] });
}

interface Family { type: string; help: string; samples: Array<{ name: string; labels: Record<string, string>; value: number }> }

/** Parses a text exposition strictly: HELP and TYPE once per family and before its samples, valid names and values. */
function parseExposition(text: string): Map<string, Family> {
  assert.ok(text.endsWith('\n'), 'the exposition ends with a newline');
  const families = new Map<string, Family>();
  for (const line of text.slice(0, -1).split('\n')) {
    const help = /^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) (.+)$/.exec(line);
    const type = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge)$/.exec(line);
    if (help) {
      assert.ok(!families.has(help[1]!), `family ${help[1]} appears twice`);
      families.set(help[1]!, { type: '', help: help[2]!, samples: [] });
      continue;
    }
    if (type) {
      const family = families.get(type[1]!);
      assert.ok(family && family.type === '' && family.samples.length === 0, `TYPE of ${type[1]} right after its HELP`);
      family.type = type[2]!;
      continue;
    }
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (-?[0-9.e+]+|NaN|[+-]Inf)$/.exec(line);
    assert.ok(sample, `not a sample line: ${JSON.stringify(line)}`);
    const family = families.get(sample[1]!);
    assert.ok(family?.type, `sample ${sample[1]} before its HELP and TYPE`);
    const labels: Record<string, string> = {};
    for (const [, name, value] of (sample[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(?:,|$)/g)) labels[name!] = value!;
    family.samples.push({ name: sample[1]!, labels, value: Number(sample[3]) });
  }
  return families;
}

function sample(families: Map<string, Family>, name: string, labels: Record<string, string> = {}): number | undefined {
  return families.get(name)?.samples.find((s) => Object.entries(labels).every(([key, value]) => s.labels[key] === value))?.value;
}

describe('the Prometheus endpoint', () => {
  let daemon: DaemonHandle;
  let logger: CapturingLogger;
  let alice: TestClient;
  let mallory: TestClient;

  before(async () => {
    logger = new CapturingLogger();
    daemon = await node('metrics1', { 'plugin.prometheus.port': 0 }, logger);
    alice = new TestClient(broker, new FakeSecurity('alice', secrets));
    mallory = new TestClient(broker, new FakeSecurity('mallory', new Map([['mallory', 'x']])));
    await alice.start();
    await mallory.start();
  });
  after(async () => {
    await alice.stop();
    await mallory.stop();
    await daemon.stop();
  });

  test('listens on the loopback interface by default, at the port it reports', () => {
    assert.match(daemon.metricsUrl ?? '', /^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    assert.equal(logger.find('info', 'metrics endpoint listening on').length, 1);
  });

  test('GET /metrics is a valid exposition of daemon_stats, security failures by code and replies by status', async () => {
    await alice.call('discovery', 'ping');
    await mallory.send('discovery', { action: 'ping', data: {} });
    await waitFor(() => daemon.counters.get(COUNTER.unvalidated) === 1, 'the unknown sender to be refused');

    const response = await fetch(daemon.metricsUrl!);
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('content-type'), 'text/plain; version=0.0.4; charset=utf-8');
    const families = parseExposition(await response.text());

    assert.equal(sample(families, 'tscollective_info', { identity: 'metrics1', version: DAEMON_VERSION }), 1);
    assert.equal(sample(families, 'tscollective_agents'), daemon.agents().length);
    assert.equal(sample(families, 'tscollective_start_time_seconds'), daemon.stats().starttime);
    assert.equal(sample(families, 'tscollective_requests_in_flight'), 0);
    const stats = daemon.stats() as unknown as Record<string, number>;
    for (const name of Object.values(COUNTER)) {
      const expected = name === COUNTER.refusedStopping ? daemon.counters.get(name) : stats[name];
      assert.equal(sample(families, daemonCounterMetric(name)), expected, `${daemonCounterMetric(name)} equals daemon_stats ${name}`);
      assert.equal(families.get(daemonCounterMetric(name))?.type, 'counter');
    }
    assert.equal(sample(families, 'tscollective_daemon_messages_total'), 2);
    assert.equal(sample(families, 'tscollective_daemon_passed_total'), 1);
    assert.equal(sample(families, 'tscollective_daemon_unvalidated_total'), 1);
    assert.equal(sample(families, 'tscollective_security_failures_total', { code: 'TSC_SEC_UNKNOWN_SENDER' }), 1);
    assert.equal(sample(families, 'tscollective_replies_by_status_total', { status: '0' }), 1);
    assert.ok(families.get('process_resident_memory_bytes')!.samples[0]!.value > 0);
  });

  test('every counter of the daemon appears in the exposition, exactly once', async () => {
    const families = parseExposition(await (await fetch(daemon.metricsUrl!)).text());
    const snapshot = daemon.counters.snapshot();
    // This scrape itself is counted after the exposition was rendered.
    assert.equal(sample(families, 'tscollective_events_total', { counter: 'metrics.scrapes' }), snapshot['metrics.scrapes']! - 1);
    const exposed = [...families.values()].filter((family) => family.type === 'counter' && family.samples[0]?.name.startsWith('tscollective_'))
      .reduce((sum, family) => sum + family.samples.reduce((total, s) => total + s.value, 0), 0);
    const counted = Object.values(snapshot).reduce((sum, value) => sum + value, 0) - 1;
    assert.equal(exposed, counted, 'the counters sum to the same total: none left out, none shown twice');
  });

  test('other paths and methods are refused, counted exactly and logged at a bounded rate', async () => {
    const notFound = await fetch(daemon.metricsUrl!.replace('/metrics', '/admin'));
    assert.equal(notFound.status, 404);
    assert.match(await notFound.text(), /the only page is \/metrics/);
    const post = await fetch(daemon.metricsUrl!, { method: 'POST', body: 'x' });
    assert.equal(post.status, 405);
    assert.equal(post.headers.get('allow'), 'GET, HEAD');
    const head = await fetch(daemon.metricsUrl!, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.ok(Number(head.headers.get('content-length')) > 0);

    for (let i = 0; i < 40; i++) await (await fetch(daemon.metricsUrl!.replace('/metrics', `/probe${i}`))).text();
    assert.equal(daemon.counters.get('metrics.not_found'), 41);
    assert.equal(daemon.counters.get('metrics.bad_method'), 1);
    const lines = logger.find('warn', 'metrics endpoint: no page');
    assert.ok(lines.length >= 1 && lines.length <= 10, `${lines.length} log lines for 41 refusals`);
  });

  test('a malformed request gets 400, is counted, and the endpoint keeps serving', async () => {
    const { port } = new URL(daemon.metricsUrl!);
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port: Number(port) }, () => socket.write('THIS IS NOT HTTP\r\n\r\n'));
      let text = '';
      socket.on('data', (chunk) => { text += chunk.toString(); });
      socket.on('close', () => resolve(text));
      socket.on('error', reject);
    });
    assert.match(answer, /^HTTP\/1\.1 400 /);
    assert.equal(daemon.counters.get('metrics.bad_requests'), 1);
    assert.equal((await fetch(daemon.metricsUrl!)).status, 200);
  });

  test('headers over 8 KiB are refused (431) and at most 32 connections are served at once', async () => {
    const big = await fetch(daemon.metricsUrl!, { headers: { 'x-padding': 'x'.repeat(16 * 1024) } });
    assert.equal(big.status, 431);

    const { port } = new URL(daemon.metricsUrl!);
    const open = async (): Promise<Socket> => {
      const socket = connect({ host: '127.0.0.1', port: Number(port) });
      await new Promise((resolve, reject) => { socket.once('connect', resolve); socket.once('error', reject); });
      socket.write('GET /metrics HTTP/1.1\r\nhost: x\r\n');
      return socket;
    };
    const held: Socket[] = [];
    try {
      for (let i = 0; i < 32; i++) held.push(await open());
      const extra = await open();
      const closedByServer = await new Promise<boolean>((resolve) => {
        extra.once('close', () => resolve(true));
        extra.once('data', () => resolve(false));
        extra.write('\r\n');
      });
      assert.ok(closedByServer, 'the 33rd connection is closed without an answer');
    } finally {
      for (const socket of held) socket.destroy();
    }
    await waitFor(() => held.every((socket) => socket.destroyed), 'the held connections to close');
    let status = 0;
    for (let attempt = 0; attempt < 50 && status !== 200; attempt++) {
      status = await fetch(daemon.metricsUrl!).then((response) => response.status, () => 0);
    }
    assert.equal(status, 200, 'served again once connections closed');
  });
});

describe('plugin.prometheus settings', () => {
  test('the endpoint is off unless a port is set', async () => {
    const daemon = await node('metrics-off', {});
    assert.equal(daemon.metricsUrl, undefined);
    await daemon.stop();
  });

  test('a bind that is not an IP address, or a bind without a port, is refused at start-up naming the key', async () => {
    await assert.rejects(node('metrics-bad', { 'plugin.prometheus.port': 0, 'plugin.prometheus.bind': 'localhost' }), (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.match(error.message, /plugin\.prometheus\.bind: expected an IP address such as 127\.0\.0\.1, ::1 or 0\.0\.0\.0, got "localhost"/);
      return true;
    });
    await assert.rejects(node('metrics-bad2', { 'plugin.prometheus.bind': '0.0.0.0' }), /plugin\.prometheus\.bind: the endpoint is off without plugin\.prometheus\.port/);
  });

  test('a port in use stops the start with MetricsEndpointError naming the address, and nothing is left running', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const { port } = blocker.address() as AddressInfo;
    const logger = new CapturingLogger();
    const sessions = broker.sessionCount;
    try {
      await assert.rejects(node('metrics-busy', { 'plugin.prometheus.port': port }, logger), (error: unknown) => {
        assert.ok(error instanceof MetricsEndpointError);
        assert.equal(error.code, 'TSC_METRICS_ENDPOINT');
        assert.match(error.message, new RegExp(`plugin\\.prometheus: cannot listen on 127\\.0\\.0\\.1 port ${port}: .*EADDRINUSE`));
        return true;
      });
      assert.equal(broker.sessionCount, sessions, 'the daemon did not connect to the bus');
    } finally {
      blocker.close();
    }
  });

  test('stop closes the endpoint', async () => {
    const daemon = await node('metrics-stop', { 'plugin.prometheus.port': 0 });
    const url = daemon.metricsUrl!;
    assert.equal((await fetch(url)).status, 200);
    await daemon.stop();
    await assert.rejects(fetch(url), /fetch failed/);
  });

  test('label values are escaped and an unknown counter becomes an event with its name', () => {
    const counters = new MemoryCounters();
    counters.increment('rabbitmq.reconnected', 3);
    counters.increment('security.warning.TSC_SEC_EXPIRED');
    const text = renderMetrics({ counters: counters.snapshot(), identity: 'a"b\\c', version: '1\n2', starttime: 5, agents: 2, inFlight: 0 });
    const families = parseExposition(text);
    assert.match(text, /tscollective_info\{identity="a\\"b\\\\c",version="1\\n2"\} 1/);
    assert.equal(sample(families, 'tscollective_events_total', { counter: 'rabbitmq.reconnected' }), 3);
    assert.equal(sample(families, 'tscollective_security_warnings_total', { code: 'TSC_SEC_EXPIRED' }), 1);
  });
});
