/**
 * The reusable pool machinery of the broker connectors (plugins/connector/pool): back-off,
 * host rotation, failover, the publish readiness gate and the pool settings reader. No broker needed.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import '../../plugins/connector/stomp/index.js';
import {
  Backoff, DEFAULT_RECONNECT_POLICY, HostRotation, ReadyGate, connectWithFailover, readPoolOptions, validateReconnectPolicy,
  type PoolHost,
} from '../../plugins/connector/pool/index.js';
import { ConnectionError, InvalidArgumentError, PublishError } from '../../src/errors.js';
import { configFromObject } from '../../src/config/index.js';

const host = (index: number, name = `broker${index}`): PoolHost => ({ index, host: name, port: 61613, ssl: false });

describe('Backoff', () => {
  test('starts at the initial delay, multiplies, and is capped at the maximum', () => {
    const backoff = new Backoff({ initialDelayMs: 10, maxDelayMs: 70, exponential: true, multiplier: 2, maxAttempts: 0 });
    assert.deepEqual([1, 2, 3, 4, 5].map(() => backoff.next()), [10, 20, 40, 70, 70]);
    backoff.reset();
    assert.equal(backoff.next(), 10, 'reset starts again from the initial delay');
  });

  test('keeps a constant delay without exponential back-off', () => {
    const backoff = new Backoff({ initialDelayMs: 25, maxDelayMs: 1000, exponential: false, multiplier: 2, maxAttempts: 0 });
    assert.deepEqual([1, 2, 3].map(() => backoff.next()), [25, 25, 25]);
  });

  test('gives up after max_reconnect_attempts failures', () => {
    const backoff = new Backoff({ ...DEFAULT_RECONNECT_POLICY, maxAttempts: 3 });
    assert.notEqual(backoff.next(), undefined);
    assert.notEqual(backoff.next(), undefined);
    assert.equal(backoff.next(), undefined, 'the third failure is the last');
    assert.equal(backoff.attempts, 3);
  });

  test('a bad policy lists every problem at once', () => {
    const problems = validateReconnectPolicy({ initialDelayMs: -1, maxDelayMs: Number.NaN, exponential: true, multiplier: 0.5, maxAttempts: 1.5 });
    assert.equal(problems.length, 4, problems.join('\n'));
    assert.match(problems.join('\n'), /initial_reconnect_delay/);
    assert.match(problems.join('\n'), /back_off_multiplier/);
    assert.throws(() => new Backoff({ ...DEFAULT_RECONNECT_POLICY, multiplier: 0 }), InvalidArgumentError);
  });
});

describe('HostRotation', () => {
  test('cycles through the pool in order', () => {
    const rotation = new HostRotation([host(1), host(2), host(3)], false);
    assert.deepEqual([1, 2, 3, 4, 5].map(() => rotation.next().index), [1, 2, 3, 1, 2]);
  });

  test('with randomize, every cycle is a permutation of the whole pool', () => {
    let seed = 7;
    const random = (): number => ((seed = (seed * 16807) % 2147483647) / 2147483647);
    const rotation = new HostRotation([host(1), host(2), host(3), host(4)], true, random);
    const cycles = [0, 1, 2].map(() => [0, 1, 2, 3].map(() => rotation.next().index));
    for (const cycle of cycles) assert.deepEqual([...cycle].sort(), [1, 2, 3, 4]);
    assert.ok(cycles.some((cycle) => cycle.join() !== '1,2,3,4'), `some cycle is shuffled: ${JSON.stringify(cycles)}`);
  });

  test('refuses an empty pool', () => {
    assert.throws(() => new HostRotation([], false), ConnectionError);
  });
});

describe('connectWithFailover', () => {
  const fastPolicy = { initialDelayMs: 1, maxDelayMs: 5, exponential: true, multiplier: 2, maxAttempts: 0 };

  test('fails over to the next host until one accepts', async () => {
    const tried: string[] = [];
    const failures: Array<[string, number]> = [];
    const result = await connectWithFailover({
      rotation: new HostRotation([host(1, 'dead1'), host(2, 'dead2'), host(3, 'alive')], false),
      policy: fastPolicy,
      connect: async (candidate) => {
        tried.push(candidate.host);
        if (candidate.host !== 'alive') throw new Error(`${candidate.host} refused`);
        return `connection to ${candidate.host}`;
      },
      onAttemptFailed: (candidate, _error, attempt) => failures.push([candidate.host, attempt]),
    });
    assert.deepEqual(tried, ['dead1', 'dead2', 'alive']);
    assert.equal(result.connection, 'connection to alive');
    assert.equal(result.host.host, 'alive');
    assert.equal(result.attempts, 3);
    assert.deepEqual(failures, [['dead1', 1], ['dead2', 2]]);
  });

  test('gives up with ConnectionError naming the last host after max attempts', async () => {
    let attempts = 0;
    await assert.rejects(
      connectWithFailover({
        rotation: new HostRotation([host(1, 'only')], false),
        policy: { ...fastPolicy, maxAttempts: 3 },
        connect: async () => {
          attempts += 1;
          throw new Error('connection refused');
        },
      }),
      (error: unknown) => error instanceof ConnectionError && /after 3 attempt\(s\).*only:61613.*connection refused/.test(error.message),
    );
    assert.equal(attempts, 3);
  });

  test('stops with ConnectionError when aborted during the back-off', async () => {
    const controller = new AbortController();
    const pending = connectWithFailover({
      rotation: new HostRotation([host(1)], false),
      policy: { ...fastPolicy, initialDelayMs: 60_000, maxDelayMs: 60_000 },
      signal: controller.signal,
      connect: async () => {
        throw new Error('down');
      },
      onAttemptFailed: () => controller.abort(),
    });
    await assert.rejects(pending, (error: unknown) => error instanceof ConnectionError && /aborted/.test(error.message));
  });
});

describe('ReadyGate', () => {
  test('a waiting publisher is released when the gate opens', async () => {
    const gate = new ReadyGate();
    const waiting = gate.wait(60_000, 'to /queue/x');
    assert.equal(gate.pending, 1);
    gate.openGate();
    await waiting;
    assert.equal(gate.pending, 0);
    await gate.wait(1, 'to /queue/x');
  });

  test('a publisher waiting past the timeout fails with PublishError naming publish_timeout', async () => {
    const gate = new ReadyGate();
    await assert.rejects(gate.wait(20, 'to /queue/x'), (error: unknown) => error instanceof PublishError && /publish_timeout/.test(error.message));
  });

  test('fail() rejects every waiter and later waits until the next attempt', async () => {
    const gate = new ReadyGate();
    const waiting = gate.wait(60_000, 'to /topic/y');
    gate.fail(new ConnectionError('pool exhausted'));
    await assert.rejects(waiting, (error: unknown) => error instanceof PublishError && /pool exhausted/.test(error.message));
    await assert.rejects(gate.wait(60_000, 'to /topic/y'), PublishError);
    gate.shut();
    const again = gate.wait(60_000, 'to /topic/y');
    gate.openGate();
    await again;
  });
});

describe('readPoolOptions', () => {
  test('reads the pool, applies defaults and lets STOMP_USER / STOMP_PASSWORD override every host', () => {
    const config = configFromObject({
      'plugin.activemq.pool.size': 2,
      'plugin.activemq.pool.1.host': 'mq1.example.net',
      'plugin.activemq.pool.1.user': 'file-user',
      'plugin.activemq.pool.2.host': 'mq2.example.net',
      'plugin.activemq.pool.2.port': 61614,
      'plugin.activemq.randomize': true,
      'plugin.activemq.max_reconnect_delay': 5,
    }, { source: 'test', env: {} });
    const { options, problems, warnings } = readPoolOptions(config, 'plugin.activemq.', {
      port: 61613, vhost: 'mcollective', userEnv: 'STOMP_USER', passwordEnv: 'STOMP_PASSWORD',
      env: { STOMP_USER: 'env-user', STOMP_PASSWORD: 'env-secret' },
    });
    assert.deepEqual(problems, []);
    assert.deepEqual(warnings, []);
    assert.deepEqual(options.hosts.map((h) => [h.host, h.port, h.user, h.password]), [
      ['mq1.example.net', 61613, 'env-user', 'env-secret'],
      ['mq2.example.net', 61614, 'env-user', 'env-secret'],
    ]);
    assert.equal(options.randomize, true);
    assert.deepEqual(options.reconnect, { initialDelayMs: 10, maxDelayMs: 5000, exponential: true, multiplier: 2, maxAttempts: 0 });
    assert.equal(options.heartbeatMs, 30_000);
    assert.equal(options.vhost, 'mcollective');
  });

  test('lists every problem at once', () => {
    const config = configFromObject({
      'plugin.activemq.pool.size': 3,
      'plugin.activemq.pool.1.host': 'mq1',
      'plugin.activemq.pool.1.ssl.cert': '/nonexistent/cert.pem',
      'plugin.activemq.pool.3.host': 'mq3',
      'plugin.activemq.initial_reconnect_delay': 10,
      'plugin.activemq.max_reconnect_delay': 1,
    }, { source: 'test', env: {} });
    const { problems } = readPoolOptions(config, 'plugin.activemq.', { port: 61613, vhost: 'mcollective' });
    const text = problems.join('\n');
    assert.match(text, /pool\.2\.host is missing/);
    assert.match(text, /pool\.1\.ssl\.cert is set but plugin\.activemq\.pool\.1\.ssl is not enabled/);
    assert.match(text, /file \/nonexistent\/cert\.pem does not exist/);
    assert.match(text, /pool\.1\.ssl\.cert and plugin\.activemq\.pool\.1\.ssl\.key must be set together/);
    assert.match(text, /max_reconnect_delay \(1 s\) must be >= initial_reconnect_delay \(10 s\)/);
    assert.equal(problems.length, 5, text);
  });

  test('raises a heartbeat below 30 s with a warning unless allow_short_heartbeat is set', () => {
    const base = { 'plugin.rabbitmq.pool.1.host': 'localhost', 'plugin.rabbitmq.heartbeat_interval': 5 };
    const raised = readPoolOptions(configFromObject(base, { env: {} }), 'plugin.rabbitmq.', { port: 61613, vhost: '/' });
    assert.equal(raised.options.heartbeatMs, 30_000);
    assert.match(raised.warnings.join('\n'), /below the minimum of 30 s; using 30 s/);
    const kept = readPoolOptions(
      configFromObject({ ...base, 'plugin.rabbitmq.allow_short_heartbeat': true }, { env: {} }),
      'plugin.rabbitmq.', { port: 61613, vhost: '/' },
    );
    assert.equal(kept.options.heartbeatMs, 5000);
    assert.deepEqual(kept.warnings, []);
  });
});
