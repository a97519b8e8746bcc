/**
 * Clients fail fast (docs/client.md, "When the broker cannot be reached"): a client-role connector gives up within
 * connect_timeout, or the run's -t when shorter, and at once when every broker refused the credentials or the
 * TLS handshake; tsco then prints one line naming the broker and the reason and exits 5. A daemon-role connector
 * keeps trying. Client log lines are human-readable unless --log-json (or a debug level) asks for JSON.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test, type TestContext } from 'node:test';
import '../../plugins/connector/stomp/index.js';
import { configFromObject } from '../../src/config/index.js';
import { createConnector } from '../../src/connector/registry.js';
import { BrokerUnavailableError } from '../../src/errors.js';
import { generateKeyPairFiles } from '../../src/keys/index.js';
import { MemoryCounters } from '../../src/util/counters.js';
import { CapturingLogger } from '../../src/util/log.js';
import { STOMP_CREDENTIALS, amqpGate, brokerGate } from './harness/brokers.js';
import { skipUnavailable } from '../harness/gate.js';
import { AMQPS_PORT, STOMPS_PORT, type TlsMaterial, amqpReachable, setupRabbitTls, stompsReachable } from './harness/rabbitmq-tls.js';

const rabbitStomp = await brokerGate('rabbitmq');
const rabbitAmqp = await amqpGate();
const TSCO = fileURLToPath(new URL('../../src/cli/tsco.js', import.meta.url));

interface Run { code: number | null; stdout: string; stderr: string }

let dir: string;
let base: Record<string, string>;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tsc-failfast-'));
  const key = await generateKeyPairFiles('tester', { dir: join(dir, 'keys') });
  base = {
    identity: 'tester', securityprovider: 'aes_security',
    'plugin.aes.client_private': key.privatePath, 'plugin.aes.client_public': key.publicPath, 'plugin.aes.client_cert_dir': join(dir, 'keys'),
  };
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** Runs tsco with a client.cfg of `settings`; a run still going after 30 s is killed (code null). */
function tsco(settings: Record<string, string | number>, args: string[]): Promise<Run> {
  const cfg = join(dir, `client-${Math.random().toString(36).slice(2)}.cfg`);
  writeFileSync(cfg, `${Object.entries({ ...base, ...settings }).map(([key, value]) => `${key} = ${value}`).join('\n')}\n`);
  return new Promise((resolve) => {
    execFile(process.execPath, [TSCO, '--config', cfg, ...args], { timeout: 30_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof (error as { code?: unknown }).code === 'number' ? (error as { code: number }).code : null) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** A TCP port nothing listens on (bound, then released). */
async function deadPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** The run gave up by itself with exit 5 and exactly one line on standard error, matching `line`. */
function assertOneLine(run: Run, line: RegExp): void {
  assert.notEqual(run.code, null, `tsco was still running after 30 s: ${run.stderr}`);
  assert.equal(run.code, 5, `exit code 5 (stderr: ${run.stderr})`);
  const lines = run.stderr.split('\n').filter(Boolean);
  assert.equal(lines.length, 1, `one line on standard error, got:\n${run.stderr}`);
  assert.match(lines[0]!, line);
  assert.doesNotMatch(run.stderr, /^\{/m, 'no JSON log lines');
}

function stomp(port: number, extra: Record<string, string | number> = {}): Record<string, string | number> {
  return {
    connector: 'rabbitmq', 'plugin.rabbitmq.pool.1.host': '127.0.0.1', 'plugin.rabbitmq.pool.1.port': port,
    'plugin.rabbitmq.pool.1.user': STOMP_CREDENTIALS.user, 'plugin.rabbitmq.pool.1.password': STOMP_CREDENTIALS.password, ...extra,
  };
}

describe('tsco gives up when the broker cannot be reached', () => {
  test('a closed port: refused, within -t, exit 5, one line', async () => {
    const port = await deadPort();
    const run = await tsco(stomp(port), ['ping', '-t', '2']);
    assertOneLine(run, new RegExp(`^tsco: TSC_BROKER_REFUSED: could not connect to any rabbitmq broker within the connect budget of 2 s \\(\\d+ attempt\\(s\\)\\); last: 127\\.0\\.0\\.1:${port}: connection refused`));
  });

  test('without -t the connector\'s connect_timeout is the budget', async () => {
    const run = await tsco(stomp(await deadPort(), { 'plugin.rabbitmq.connect_timeout': 1.5 }), ['rpc', 'rpcutil', 'ping']);
    assertOneLine(run, /^tsco: TSC_BROKER_REFUSED: could not connect to any rabbitmq broker within the connect budget of 1\.5 s/);
  });

  rabbitStomp.test('RabbitMQ STOMP with a wrong password: authentication failed, at once', async () => {
    const run = await tsco(stomp(61613, { 'plugin.rabbitmq.pool.1.password': 'wrong-password' }), ['ping', '-t', '20']);
    assertOneLine(run, /^tsco: TSC_BROKER_AUTH: could not connect to any rabbitmq broker after 1 attempt\(s\) \(retrying cannot help\); last: 127\.0\.0\.1:61613: authentication failed: the broker sent ERROR: .*Access refused/);
  });

  rabbitAmqp.test('AMQP with a wrong password: authentication failed, at once', async () => {
    const run = await tsco({ connector: 'amqp', 'plugin.amqp.host': '127.0.0.1', 'plugin.amqp.user': 'guest', 'plugin.amqp.password': 'wrong' }, ['ping', '-t', '20']);
    assertOneLine(run, /^tsco: TSC_BROKER_AUTH: could not connect to any amqp broker after 1 attempt\(s\) \(retrying cannot help\); last: 127\.0\.0\.1:5672: authentication failed: user or password refused/);
  });

  describe('TLS with the wrong CA', () => {
    let material: TlsMaterial | undefined;
    let unavailable = 'RabbitMQ is not reachable on 127.0.0.1:5672';
    before(async () => {
      if (!(await amqpReachable())) return;
      try {
        material = (await setupRabbitTls()).material;
        if (!(await stompsReachable())) unavailable = `the STOMP TLS listener on ${STOMPS_PORT} is not up`;
      } catch (error) {
        unavailable = `the TLS listeners could not be set up: ${(error as Error).message}`;
      }
    });
    const rogueCa = (): string => join(material!.dir, 'rogue-ca.pem');

    test('AMQPS: the broker\'s certificate is not trusted', async (t) => {
      if (material === undefined) { skipUnavailable(t, unavailable); return; }
      const run = await tsco({
        connector: 'amqp', 'plugin.amqp.host': '127.0.0.1', 'plugin.amqp.port': AMQPS_PORT, 'plugin.amqp.ssl': 1, 'plugin.amqp.ssl.ca': rogueCa(),
        'plugin.amqp.ssl.cert': material!.clientCert, 'plugin.amqp.ssl.key': material!.clientKey,
      }, ['ping', '-t', '20']);
      assertOneLine(run, new RegExp(`^tsco: TSC_BROKER_TLS: could not connect to any amqp broker after 1 attempt\\(s\\) \\(retrying cannot help\\); last: 127\\.0\\.0\\.1:${AMQPS_PORT} \\(tls\\): TLS handshake failed: the broker's certificate is not trusted`));
    });

    test('STOMP over TLS: the broker\'s certificate is not trusted', async (t) => {
      if (material === undefined || !(await stompsReachable())) { skipUnavailable(t, unavailable); return; }
      const run = await tsco(stomp(STOMPS_PORT, {
        'plugin.rabbitmq.pool.1.ssl': 1, 'plugin.rabbitmq.pool.1.ssl.ca': rogueCa(),
        'plugin.rabbitmq.pool.1.ssl.cert': material!.clientCert, 'plugin.rabbitmq.pool.1.ssl.key': material!.clientKey,
        'plugin.rabbitmq.amqp_port': AMQPS_PORT,
      }), ['ping', '-t', '20']);
      assertOneLine(run, new RegExp(`^tsco: TSC_BROKER_TLS: could not connect to any rabbitmq broker after 1 attempt\\(s\\) \\(retrying cannot help\\); last: 127\\.0\\.0\\.1:${STOMPS_PORT} \\(tls\\): TLS handshake failed: the broker's certificate is not trusted`));
    });
  });
});

describe('tsco log lines', () => {
  test('human-readable by default, JSON with --log-json', async () => {
    // A heart-beat below 30 s is raised with a warning the connector logs when it connects.
    const settings = stomp(await deadPort(), { 'plugin.rabbitmq.heartbeat_interval': 5 });
    const text = await tsco(settings, ['ping', '-t', '1']);
    assert.equal(text.code, 5);
    assert.match(text.stderr, /^tsco: warning: configuration adjusted \(setting=plugin\.rabbitmq\.heartbeat_interval 5 s is below the minimum/m);
    assert.doesNotMatch(text.stderr, /^\{/m);
    const json = await tsco(settings, ['--log-json', 'ping', '-t', '1']);
    assert.equal(json.code, 5);
    const record = JSON.parse(json.stderr.split('\n').find((line) => line.startsWith('{'))!) as { level: number; msg: string };
    assert.equal(record.msg, 'configuration adjusted');
    assert.equal(record.level, 40);
    assert.match(json.stderr, /^tsco: TSC_BROKER_REFUSED: /m, 'the final line stays human-readable');
  });
});

describe('connector roles', () => {
  const dead = async (role: 'client' | 'daemon', extra: Record<string, string | number> = {}) => {
    const logger = new CapturingLogger();
    const counters = new MemoryCounters();
    const connector = createConnector('rabbitmq', {
      config: configFromObject({ ...stomp(await deadPort()), 'plugin.rabbitmq.connect_timeout': 1, 'plugin.rabbitmq.max_reconnect_delay': 0.1, ...extra }),
      identity: 'roles.example.net', logger, counters, role,
    });
    return { connector, logger, counters };
  };

  test('a client gives up within its budget, logging its attempts at debug level only', async () => {
    const { connector, logger } = await dead('client');
    await assert.rejects(connector.connect(), (error: unknown) =>
      error instanceof BrokerUnavailableError && error.code === 'TSC_BROKER_REFUSED' && error.reason === 'refused' && /within the connect budget of 1 s/.test(error.message));
    assert.equal(connector.state, 'disconnected');
    assert.deepEqual(logger.records.filter((r) => r.level === 'warn' || r.level === 'error').map((r) => r.msg), []);
    await connector.disconnect();
  });

  test('a daemon keeps trying past connect_timeout, and says so at warn level', async () => {
    const { connector, logger, counters } = await dead('daemon');
    const connecting = connector.connect();
    connecting.catch(() => undefined);
    await new Promise((resolve) => setTimeout(resolve, 2500));
    assert.equal(connector.state, 'connecting', 'still trying after more than connect_timeout');
    assert.ok(counters.get('connector.rabbitmq.attempt_failed') > 2, 'several attempts were made');
    assert.ok(logger.find('warn', 'connection attempt failed; retrying').length > 2);
    await connector.disconnect();
    await assert.rejects(connecting, /closed while connecting/);
  });
});
