#!/usr/bin/env node
// Runs the compiled test files with node's built-in test runner.
// Usage: node scripts/run-tests.mjs [unit|integration|<path fragment>...]
// Node 20's --test does not expand globs, so the files are listed here.
//
// - Every test and hook gets a default timeout (TSC_TEST_TIMEOUT_MS, default below; scripts/test-timeout.mjs).
// - When a selected file uses the brokers and one of their ports is closed, it runs `scripts/brokers.sh start`
//   first if it can (as root), printing one line; otherwise the broker tests are skipped with the reason
//   (and fail under CI=true). The same for the shared NATS server (127.0.0.1:4222, pre-started on CI machines):
//   started with start-stop-daemon when a selected file uses it and the port is closed. TSC_START_BROKERS=0
//   turns both off.
import { mkdirSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawnSync } from 'node:child_process';
import { connect } from 'node:net';

/**
 * The default per-test limit: the slowest legitimate tests restart a broker (stop + start through
 * scripts/brokers.sh, up to 120 s each on a loaded machine, plus up to 90 s to reconnect). A test that takes
 * longer than this is stuck.
 */
const DEFAULT_TEST_TIMEOUT_MS = 300_000;
/** The ports scripts/brokers.sh opens: RabbitMQ AMQP and STOMP, ActiveMQ STOMP. */
const BROKER_PORTS = [5672, Number(process.env.RABBITMQ_STOMP_PORT ?? 61613), Number(process.env.ACTIVEMQ_STOMP_PORT ?? 61614)];

const root = new URL('..', import.meta.url).pathname;
const testDir = join(root, 'dist', 'test');
const filters = process.argv.slice(2);

function walk(dir) {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    return statSync(path).isDirectory() ? walk(path) : path.endsWith('.test.js') ? [path] : [];
  });
}

function portOpen(port) {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    const done = (open) => { clearTimeout(timer); socket.destroy(); resolve(open); };
    const timer = setTimeout(() => done(false), 2000);
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** Starts the brokers when a selected test needs them and a port is closed; prints one line when it acts. */
async function ensureBrokers(files) {
  if (process.env.TSC_START_BROKERS === '0') return;
  if (!files.some((file) => readFileSync(file, 'utf8').includes('harness/brokers.js'))) return;
  const closed = [];
  for (const port of BROKER_PORTS) if (!(await portOpen(port))) closed.push(port);
  if (closed.length === 0) return;
  const where = `127.0.0.1:${closed.join(', ')} closed`;
  if (process.getuid?.() !== 0) {
    console.log(`run-tests: brokers not running (${where}) and not root, so not starting them: broker tests will be ${process.env.CI === 'true' ? 'FAILED (CI=true)' : 'skipped'}; start them with sudo bash scripts/brokers.sh start`);
    return;
  }
  const started = Date.now();
  const result = spawnSync('bash', [join(root, 'scripts', 'brokers.sh'), 'start'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const seconds = ((Date.now() - started) / 1000).toFixed(0);
  if (result.status === 0) {
    console.log(`run-tests: brokers were not running (${where}): started them with scripts/brokers.sh start in ${seconds} s`);
  } else {
    console.log(`run-tests: brokers were not running (${where}) and scripts/brokers.sh start failed after ${seconds} s (exit ${result.status}); broker tests will be ${process.env.CI === 'true' ? 'FAILED (CI=true)' : 'skipped'}:`);
    console.log(`${result.stdout}${result.stderr}`.trim().split('\n').slice(-15).map((line) => `    ${line}`).join('\n'));
  }
}

/** The shared NATS server's port, and how these machines start it (JetStream on, loopback only). */
const NATS_PORT = Number(process.env.NATS_PORT ?? 4222);
const NATS_START = [
  'start-stop-daemon', '--start', '--oknodo', '--background', '--pidfile', '/run/tscollective-nats-server.pid', '--make-pidfile',
  '--exec', '/usr/sbin/nats-server', '--', '-a', '127.0.0.1', '-p', String(NATS_PORT), '-js', '-sd', '/var/lib/nats-server', '-l', '/var/log/nats-server.log',
];

/** Starts the shared NATS server when a selected test uses it and its port is closed; prints one line when it acts. */
async function ensureNats(files) {
  if (process.env.TSC_START_BROKERS === '0') return;
  if (!files.some((file) => readFileSync(file, 'utf8').includes('harness/nats.js'))) return;
  if (await portOpen(NATS_PORT)) return;
  const outcome = process.env.CI === 'true' ? 'FAILED (CI=true)' : 'skipped';
  if (process.getuid?.() !== 0) {
    console.log(`run-tests: NATS not running (127.0.0.1:${NATS_PORT} closed) and not root, so not starting it: NATS tests will be ${outcome}; start it with sudo ${NATS_START.join(' ')}`);
    return;
  }
  mkdirSync('/var/lib/nats-server', { recursive: true });
  const result = spawnSync(NATS_START[0], NATS_START.slice(1), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const deadline = Date.now() + 20_000;
  let up = false;
  while (result.status === 0 && !(up = await portOpen(NATS_PORT)) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 200));
  if (up) {
    console.log(`run-tests: NATS was not running (127.0.0.1:${NATS_PORT} closed): started /usr/sbin/nats-server with start-stop-daemon`);
  } else {
    console.log(`run-tests: NATS was not running (127.0.0.1:${NATS_PORT} closed) and could not be started (exit ${result.status}); NATS tests will be ${outcome}: ${`${result.stdout ?? ''}${result.stderr ?? ''}${result.error?.message ?? ''}`.trim()}`);
  }
}

const files = walk(testDir)
  .filter((file) => filters.length === 0 || filters.some((f) => relative(testDir, file).includes(f)))
  .sort();
if (files.length === 0) {
  console.error(`run-tests: no test files matched ${filters.join(' ') || '(all)'} under ${testDir}`);
  process.exit(1);
}
await ensureBrokers(files);
await ensureNats(files);
const env = { ...process.env, TSC_TEST_TIMEOUT_MS: process.env.TSC_TEST_TIMEOUT_MS ?? String(DEFAULT_TEST_TIMEOUT_MS) };
const result = spawnSync(process.execPath, [
  `--import=${new URL('./test-timeout.mjs', import.meta.url).href}`, '--test', '--test-concurrency=1',
  // A test stopped by its timeout may leave a socket or timer behind: the file still ends once its tests have.
  '--test-force-exit',
  ...files,
], { stdio: 'inherit', env });
process.exit(result.status ?? 1);
