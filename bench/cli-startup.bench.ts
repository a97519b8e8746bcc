/**
 * `npm run bench [-- --json] [-- --runs N]`: `cli-startup`, the wall time of a whole `tsco rpc rpcutil ping -I node1`
 * against one running tscollectived over RabbitMQ AMQP (127.0.0.1:5672 or TSCO_BENCH_AMQP_PORT, user guest or
 * TSCO_BENCH_AMQP_USER/_PASSWORD): process start, configuration, keys, connection, one signed request, one reply,
 * exit. Target: <= 250 ms on a warm machine. The floor is a bare `node -e ''` in the same run (the runtime's own
 * start, which no change to tscollective can remove); `ratio` is the median over that floor's median.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { generateKeyPairFiles } from '../src/keys/index.js';

const args = process.argv.slice(2);
const json = args.includes('--json');
const runsIndex = args.indexOf('--runs');
const RUNS = runsIndex >= 0 ? Number(args[runsIndex + 1]) : 15;
const WARMUP = 3;
const TARGET_MS = 250;
const TSCO = fileURLToPath(new URL('../src/cli/tsco.js', import.meta.url));
const DAEMON = fileURLToPath(new URL('../src/cli/tscollectived.js', import.meta.url));
const AMQP = {
  port: process.env['TSCO_BENCH_AMQP_PORT'] ?? '5672',
  user: process.env['TSCO_BENCH_AMQP_USER'] ?? 'guest',
  password: process.env['TSCO_BENCH_AMQP_PASSWORD'] ?? 'guest',
};

function config(dir: string, role: 'server' | 'client'): string {
  const name = role === 'server' ? 'node1' : 'operator';
  const lines = [
    `identity = ${name}`, 'collectives = clistartup', 'main_collective = clistartup', 'loglevel = warn',
    'connector = amqp', 'plugin.amqp.host = 127.0.0.1', `plugin.amqp.port = ${AMQP.port}`,
    `plugin.amqp.user = ${AMQP.user}`, `plugin.amqp.password = ${AMQP.password}`,
    'securityprovider = aes_security', 'plugin.aes.serializer = msgpack', `plugin.aes.client_cert_dir = ${join(dir, 'certs')}`,
    `plugin.aes.${role}_private = ${join(dir, 'keys', `${name}-private.pem`)}`, `plugin.aes.${role}_public = ${join(dir, 'keys', `${name}.pem`)}`,
    ...(role === 'server' ? [`statedir = ${join(dir, 'state')}`, `logfile = ${join(dir, 'server.log')}`, 'registerinterval = 0'] : []),
  ];
  const path = join(dir, `${role}.cfg`);
  writeFileSync(path, `${lines.join('\n')}\n`);
  return path;
}

/** Wall milliseconds of one run of `node argv`; throws when it fails. */
function timed(argv: string[]): number {
  const started = performance.now();
  const result = spawnSync(process.execPath, argv, { encoding: 'utf8' });
  const elapsed = performance.now() - started;
  if (result.status !== 0) throw new Error(`node ${argv.join(' ')} exited with ${result.status ?? result.signal}: ${result.stderr.trim().slice(0, 500)}`);
  return elapsed;
}

const quantile = (values: number[], q: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
};
const round = (value: number): number => Math.round(value * 10) / 10;

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'tsc-cli-startup-'));
  let daemon: ChildProcess | undefined;
  try {
    for (const sub of ['keys', 'certs', 'state']) mkdirSync(join(dir, sub));
    for (const name of ['operator', 'node1']) {
      const pair = await generateKeyPairFiles(name, { dir: join(dir, 'keys') });
      copyFileSync(pair.publicPath, join(dir, 'certs', `${name}.pem`));
    }
    const clientConfig = config(dir, 'client');
    daemon = spawn(process.execPath, [DAEMON, '--config', config(dir, 'server')], { stdio: ['ignore', 'ignore', 'pipe'] });
    let daemonErrors = '';
    daemon.stderr!.on('data', (chunk: Buffer) => { daemonErrors += chunk.toString(); });
    const ping = [TSCO, '-c', clientConfig, 'rpc', 'rpcutil', 'ping', '-I', 'node1'];
    const deadline = Date.now() + 20_000;
    for (;;) {
      try {
        timed(ping);
        break;
      } catch (error) {
        if (Date.now() > deadline || daemon.exitCode !== null) throw new Error(`the daemon never answered: ${(error as Error).message}\n${daemonErrors}`);
        await sleep(250);
      }
    }
    for (let i = 0; i < WARMUP; i++) { timed(ping); timed(['-e', '']); }
    const runs: number[] = [];
    const floor: number[] = [];
    // Interleaved, so a burst of load on the machine weighs on both the same way.
    for (let i = 0; i < RUNS; i++) {
      runs.push(timed(ping));
      floor.push(timed(['-e', '']));
    }
    const result = {
      runs: RUNS, median_ms: round(quantile(runs, 0.5)), p90_ms: round(quantile(runs, 0.9)), min_ms: round(Math.min(...runs)),
      floor_node_ms: round(quantile(floor, 0.5)), ratio: round(quantile(runs, 0.5) / quantile(floor, 0.5)), target_ms: TARGET_MS,
    };
    if (json) console.log(JSON.stringify({ 'cli-startup': result }));
    else {
      console.log(`cli-startup: tsco rpc rpcutil ping -I node1 against one daemon over AMQP, ${RUNS} runs`);
      console.log(`  median ${result.median_ms} ms, p90 ${result.p90_ms} ms, min ${result.min_ms} ms (target <= ${TARGET_MS} ms)`);
      console.log(`  floor (node -e '') ${result.floor_node_ms} ms; ratio ${result.ratio}`);
    }
  } finally {
    daemon?.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(`cli-startup: ${(error as Error).message}`);
  process.exitCode = 1;
});
