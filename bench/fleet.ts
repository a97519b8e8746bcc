/**
 * `npm run bench:fleet -- --nodes N [--mode rsa|ephemeral] [--connector amqp|nats] [--json]`: fan-in at scale.
 * N virtual servers (each its own daemon instance: startDaemon with its own configuration, key, connection and
 * queues) run in one or two server processes (fleet-servers.ts); a separate client process (fleet-client.ts)
 * broadcasts rpcutil#ping to all of them, three times to warm up and `--rounds` times measured, and measures the floor (the
 * raw crypto one reply needs, fleet-floor.ts) in the same run. Prints
 * `{nodes, mode, connector, wall_ms, replies_per_s, client_cpu_ms_per_reply, floor_cpu_ms_per_reply, ...}`
 * (medians of the measured rounds; `cost_ratio` is the best round's CPU per reply over the floor, best of three
 * passes, as in `npm run bench`; `cost_ratio_median` uses the median) and exits 1 unless every reply of every round
 * arrived and verified.
 *
 * Brokers: amqp runs against a dedicated RabbitMQ node (`scripts/brokers.sh start rabbitmq-bench`, 127.0.0.1:5680,
 * thousands of connections) that the bench starts when needed and stops afterwards (`--keep-broker` keeps it), or
 * against the shared one with `--broker shared` (about 830 connections at most); nats against 127.0.0.1:4222.
 * Starting the dedicated node needs root (as scripts/brokers.sh does); keys are generated once into
 * $TMPDIR/tscollective-fleet-keys (TSC_FLEET_KEYS) and reused.
 * Options: --rounds R (5), --processes 1|2 (2), --timeout S (60), --loglevel L (the daemons', info), --profile
 * (an extra profiled round reports key_resolution_ms_per_reply; --profile-out FILE also writes its .cpuprofile),
 * --profile-servers DIR (the server processes run with --cpu-prof into DIR), --host H --port P (another broker).
 */
import { execFileSync, fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fleetKeys, trustDirectory } from './fleet-keys.js';
import {
  FLEET_CONNECTORS, connectorSettings, median, type BrokerEndpoint, type ClientResult, type ClientSpec, type FleetConnector, type ReplyMode,
  type ServersMessage, type ServersSpec,
} from './fleet-spec.js';

const BROKERS_SCRIPT = fileURLToPath(new URL('../../scripts/brokers.sh', import.meta.url));
/** The dedicated benchmark RabbitMQ node of scripts/brokers.sh. */
const DEDICATED_PORT = Number(process.env.RABBITMQ_BENCH_PORT ?? 5680);

interface Options {
  nodes: number;
  mode: ReplyMode;
  connector: FleetConnector;
  json: boolean;
  rounds: number;
  processes: number;
  timeoutS: number;
  loglevel: string;
  profile: boolean;
  profileOut: string | undefined;
  profileServers: string | undefined;
  broker: 'dedicated' | 'shared' | 'given';
  host: string;
  port: number | undefined;
  keepBroker: boolean;
}

function parseOptions(argv: readonly string[]): Options {
  const value = (name: string): string | undefined => {
    const index = argv.indexOf(name);
    return index >= 0 ? argv[index + 1] : undefined;
  };
  const integer = (name: string, fallback: number, min: number): number => {
    const raw = value(name);
    const parsed = raw === undefined ? fallback : Number(raw);
    if (!Number.isSafeInteger(parsed) || parsed < min) throw new Error(`${name}: expected a whole number >= ${min}, got ${raw}`);
    return parsed;
  };
  const mode = value('--mode') ?? 'ephemeral';
  if (mode !== 'rsa' && mode !== 'ephemeral') throw new Error(`--mode: expected rsa or ephemeral, got ${mode}`);
  const connector = value('--connector') ?? 'amqp';
  if (!(FLEET_CONNECTORS as readonly string[]).includes(connector)) throw new Error(`--connector: expected ${FLEET_CONNECTORS.join(' or ')}, got ${connector}`);
  const broker = value('--broker') ?? (value('--port') !== undefined ? 'given' : 'dedicated');
  if (!['dedicated', 'shared', 'given'].includes(broker)) throw new Error(`--broker: expected dedicated or shared, got ${broker}`);
  const nodes = integer('--nodes', 1000, 1);
  return {
    nodes, mode, connector: connector as FleetConnector, json: argv.includes('--json'), rounds: integer('--rounds', 5, 1),
    processes: Math.min(nodes, integer('--processes', 2, 1)), timeoutS: integer('--timeout', 60, 1), loglevel: value('--loglevel') ?? 'info',
    profile: argv.includes('--profile') || value('--profile-out') !== undefined, profileOut: value('--profile-out'),
    profileServers: value('--profile-servers'), broker: broker as Options['broker'], host: value('--host') ?? '127.0.0.1',
    port: value('--port') === undefined ? undefined : integer('--port', 0, 1), keepBroker: argv.includes('--keep-broker'),
  };
}

function portOpen(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (open: boolean) => { clearTimeout(timer); socket.destroy(); resolve(open); };
    const timer = setTimeout(() => done(false), 2000);
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** The broker of the run, and whether this run started it (and so stops it). */
async function broker(options: Options, log: (line: string) => void): Promise<{ endpoint: BrokerEndpoint; started: boolean }> {
  if (options.connector === 'nats') return { endpoint: { host: options.host, port: options.port ?? 4222 }, started: false };
  if (options.broker !== 'dedicated') return { endpoint: { host: options.host, port: options.port ?? 5672 }, started: false };
  if (await portOpen('127.0.0.1', DEDICATED_PORT)) return { endpoint: { host: '127.0.0.1', port: DEDICATED_PORT }, started: false };
  log(`starting the dedicated benchmark RabbitMQ (scripts/brokers.sh start rabbitmq-bench, 127.0.0.1:${DEDICATED_PORT})`);
  execFileSync('bash', [BROKERS_SCRIPT, 'start', 'rabbitmq-bench'], { stdio: ['ignore', 'ignore', 'inherit'] });
  return { endpoint: { host: '127.0.0.1', port: DEDICATED_PORT }, started: true };
}

/** Waits for the first message of `child` matching `accept`; fails on an error message, an exit, or after `ms`. */
function answer<T>(child: ChildProcess, what: string, ms: number, accept: (message: any) => T | undefined): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => finish(new Error(`${what}: no answer within ${ms / 1000} s`)), ms);
    const onMessage = (message: any) => {
      if (message?.type === 'error') return finish(new Error(`${what}: ${message.message}`));
      const accepted = accept(message);
      if (accepted !== undefined) finish(undefined, accepted);
    };
    const onExit = (code: number | null) => finish(new Error(`${what}: the process exited (${code})`));
    function finish(error: Error | undefined, value?: T): void {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
      if (error) reject(error);
      else resolve(value as T);
    }
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}

async function main(): Promise<number> {
  const options = parseOptions(process.argv.slice(2));
  const log = (line: string) => process.stderr.write(`bench:fleet: ${line}\n`);
  const { endpoint, started } = await broker(options, log);
  const runDir = mkdtempSync(join(tmpdir(), 'tsc-fleet-'));
  const stateDir = existsSync('/dev/shm') ? mkdtempSync('/dev/shm/tsc-fleet-') : join(runDir, 'state');
  const children: ChildProcess[] = [];
  try {
    const keys = await fleetKeys(options.nodes, undefined, log);
    const serverCertDir = trustDirectory(join(runDir, 'server-certs'), keys.nodes);
    const clientCertDir = trustDirectory(join(runDir, 'client-certs'), [keys.client]);
    const collective = `fleet${randomBytes(4).toString('hex')}`;
    const connector = connectorSettings(options.connector, endpoint);

    log(`starting ${options.nodes} virtual servers in ${options.processes} process(es) on ${options.connector} ${endpoint.host}:${endpoint.port}`);
    const startedAt = Date.now();
    const servers = Array.from({ length: options.processes }, (_, index) => {
      const child = fork(fileURLToPath(new URL('./fleet-servers.js', import.meta.url)), [], { execArgv: options.profileServers ? ['--cpu-prof', '--cpu-prof-dir', options.profileServers] : [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      children.push(child);
      const share = keys.nodes.filter((_, node) => node % options.processes === index);
      const spec: ServersSpec = { collective, connector, nodes: share, clientCertDir, runDir, stateDir, loglevel: options.loglevel };
      child.send({ type: 'start', spec });
      return child;
    });
    const ready = await Promise.all(servers.map((child, index) => answer(child, `server process ${index + 1}`, 120_000 + options.nodes * 200,
      (message: ServersMessage) => (message.type === 'ready' ? message : undefined))));
    log(`${ready.reduce((sum, entry) => sum + entry.started, 0)} servers up in ${((Date.now() - startedAt) / 1000).toFixed(1)} s`);

    const client = fork(fileURLToPath(new URL('./fleet-client.js', import.meta.url)), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    children.push(client);
    const clientSpec: ClientSpec & { signers: typeof keys.nodes } = {
      collective, connector, client: keys.client, serverCertDir, nodes: keys.nodes.map((node) => node.name), mode: options.mode,
      rounds: options.rounds, timeoutMs: options.timeoutS * 1000, runDir, profile: options.profile,
      ...(options.profileOut ? { profileOut: options.profileOut } : {}), signers: keys.nodes.slice(0, 16),
    };
    client.send({ type: 'run', spec: clientSpec });
    const result = await answer(client, 'client process', (options.rounds + 3) * (options.timeoutS * 1000) + 120_000,
      (message: { type: string; result?: ClientResult }) => (message.type === 'result' ? message.result : undefined));

    await Promise.all(servers.map((child, index) => {
      child.send({ type: 'stop' });
      return answer(child, `stopping server process ${index + 1}`, 120_000, (message: ServersMessage) => (message.type === 'stopped' ? true : undefined))
        .catch((error: Error) => log(error.message));
    }));
    report(options, endpoint, result, ready.map((entry) => entry.rss_mb));
    return result.problems.length === 0 ? 0 : 1;
  } finally {
    // Stopped children exit by themselves (writing a --cpu-prof profile takes a moment); the others are killed.
    await Promise.all(children.map((child) => child.exitCode !== null || child.signalCode !== null ? undefined
      : new Promise<void>((resolve) => {
        const timer = setTimeout(() => { child.kill(); resolve(); }, 10_000);
        child.once('exit', () => { clearTimeout(timer); resolve(); });
      })));
    rmSync(runDir, { recursive: true, force: true });
    rmSync(stateDir, { recursive: true, force: true });
    if (started && !options.keepBroker) {
      log('stopping the dedicated benchmark RabbitMQ');
      execFileSync('bash', [BROKERS_SCRIPT, 'stop', 'rabbitmq-bench'], { stdio: ['ignore', 'ignore', 'inherit'] });
    }
  }
}

function report(options: Options, endpoint: BrokerEndpoint, result: ClientResult, serverRssMb: number[]): void {
  const measured = result.rounds.filter((entry) => !(entry as { profiled?: boolean }).profiled);
  const wall = median(measured.map((entry) => entry.wall_ms));
  const cpuPerReply = median(measured.map((entry) => entry.cpu_ms / Math.max(1, entry.replies)));
  const round3 = (value: number) => Math.round(value * 1000) / 1000;
  const row = {
    nodes: options.nodes, mode: options.mode, connector: options.connector, wall_ms: Math.round(wall),
    replies_per_s: Math.round(options.nodes / (wall / 1000)), client_cpu_ms_per_reply: round3(cpuPerReply),
    wall_ms_best: Math.round(Math.min(...measured.map((entry) => entry.wall_ms))),
    client_cpu_ms_per_reply_best: round3(Math.min(...measured.map((entry) => entry.cpu_ms / Math.max(1, entry.replies)))),
    // As npm run bench: best against best (noise from other work on the machine only ever slows a round down).
    floor_cpu_ms_per_reply: round3(result.floor_cpu_ms_per_reply),
    cost_ratio: round3(Math.min(...measured.map((entry) => entry.cpu_ms / Math.max(1, entry.replies))) / result.floor_cpu_ms_per_reply),
    cost_ratio_median: round3(cpuPerReply / result.floor_cpu_ms_per_reply),
    cold_client_cpu_ms_per_reply: round3((result.warm_up[0]?.cpu_ms ?? Number.NaN) / options.nodes), cold_wall_ms: Math.round(result.warm_up[0]?.wall_ms ?? Number.NaN),
    ...(result.key_resolution_ms_per_reply !== undefined ? { key_resolution_ms_per_reply: round3(result.key_resolution_ms_per_reply) } : {}),
    verified: result.problems.length === 0, problems: result.problems,
    rounds: measured.map((entry) => ({ wall_ms: Math.round(entry.wall_ms), cpu_ms: Math.round(entry.cpu_ms), replies: entry.replies })),
    broker: `${endpoint.host}:${endpoint.port}`, server_processes: options.processes, server_rss_mb: serverRssMb, client_rss_mb: result.rss_mb,
  };
  if (options.json) {
    console.log(JSON.stringify(row));
    return;
  }
  console.log(`fleet: ${row.nodes} virtual servers over ${row.connector} (${row.broker}), ${row.mode} replies, ${row.server_processes} server process(es)`);
  console.log(`  wall ${row.wall_ms} ms for every reply (median of ${measured.length}: ${row.rounds.map((entry) => entry.wall_ms).join(', ')}), ${row.replies_per_s} replies/s`);
  console.log(`  client CPU ${row.client_cpu_ms_per_reply} ms per reply (best round ${row.client_cpu_ms_per_reply_best}), floor ${row.floor_cpu_ms_per_reply} ms:`
    + ` ratio ${row.cost_ratio} best, ${row.cost_ratio_median} median (target <= 1.5)`);
  console.log(`  cold (the first broadcast: every server key parsed): ${row.cold_wall_ms} ms, client CPU ${row.cold_client_cpu_ms_per_reply} ms per reply`);
  if (row.key_resolution_ms_per_reply !== undefined) console.log(`  of which resolving server keys: ${row.key_resolution_ms_per_reply} ms per reply`);
  console.log(`  ${row.verified ? 'every reply received and verified' : `PROBLEMS: ${row.problems.join('; ')}`}`);
}

main().then((code) => { process.exitCode = code; }, (error: unknown) => {
  process.stderr.write(`bench:fleet: ${(error as Error).stack ?? String(error)}\n`);
  process.exitCode = 1;
});
