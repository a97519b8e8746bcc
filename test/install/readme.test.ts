/**
 * The README's "Run for real" section, run exactly as written: its fenced shell block is extracted and run by
 * bash -e from the repository, as root, with DESTDIR and HOME set to temporary folders (the block puts every
 * system path under DESTDIR), so the real /etc, /var and ~ are not touched. The block starts RabbitMQ itself
 * (scripts/brokers.sh, idempotent), builds, installs the sample configurations, keys, facts and a policy, starts
 * tscollectived, pings, runs a filtered rpc and stops the daemon. Not as root it is skipped (fails under CI=true).
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { serviceGate } from '../harness/gate.js';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));

/** The first ```sh block of the README's "## Run for real" section. */
export function runForRealBlock(readme: string): string {
  const section = readme.indexOf('\n## Run for real\n');
  assert.ok(section >= 0, 'README.md has a "## Run for real" section');
  const next = readme.indexOf('\n## ', section + 1);
  const body = readme.slice(section, next < 0 ? undefined : next);
  const block = /\n```sh\n([\s\S]*?)\n```\n/.exec(body);
  assert.ok(block, 'the section has a ```sh block');
  return `${block[1]!}\n`;
}

const root = process.getuid?.() === 0;
const gate = serviceGate('root', root ? undefined : 'is needed: the README section runs as root (it may start RabbitMQ)', 'run npm test as root');

const work = mkdtempSync(join(tmpdir(), 'tsc-readme-'));
after(() => {
  const pidfile = join(work, 'root', 'run', 'tscollectived.pid');
  // A failed run may leave its daemon behind.
  if (existsSync(pidfile)) {
    try {
      process.kill(Number(readFileSync(pidfile, 'utf8').trim()), 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
  rmSync(work, { recursive: true, force: true });
});

test('the block uses no sudo and keeps every system path under DESTDIR', () => {
  const block = runForRealBlock(readFileSync(join(REPO, 'README.md'), 'utf8'));
  assert.doesNotMatch(block, /\bsudo\b/);
  const commands = block.split('\n').filter((line) => !line.trimStart().startsWith('#')).join('\n');
  const unprefixed = [...commands.matchAll(/(?<![\w$}/|])\/(etc|var|run)\//g)].map((match) => match[0]);
  assert.deepEqual(unprefixed, [], 'system paths written without $DESTDIR');
});

gate.test('the README\'s "Run for real" works as written: ping and a filtered rpc answer from server1.example.com', async () => {
  const block = runForRealBlock(readFileSync(join(REPO, 'README.md'), 'utf8'));
  const destdir = join(work, 'root');
  const home = join(work, 'home');
  mkdirSync(destdir);
  mkdirSync(home);
  const env: NodeJS.ProcessEnv = { ...process.env, DESTDIR: destdir, HOME: home, PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ''}`, NO_COLOR: '1' };
  delete env['TSCO_CONFIG'];
  const run = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile('bash', ['-e', '-c', block], { cwd: REPO, env, timeout: 280_000, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof (error as { code?: unknown }).code === 'number' ? (error as { code: number }).code : -1) : 0, stdout, stderr });
    });
  });
  assert.equal(run.code, 0, `the block failed (exit ${run.code}):\n${run.stdout}\n${run.stderr}`);
  assert.match(run.stdout, /^server1\.example\.com\s+time=\d+\.\d+ ms$/m, run.stdout);
  const rpc = run.stdout.slice(run.stdout.indexOf('ping statistics'));
  assert.match(rpc, /server1\.example\.com/);
  assert.match(rpc, /\buk\b/);
  assert.match(run.stderr, /tscollectived: running as server1\.example\.com/);
  assert.match(run.stderr, /tscollectived: SIGTERM received, stopping/);

  // What the block wrote went where the samples say, under DESTDIR.
  for (const path of ['etc/tscollective/server.cfg', 'etc/tscollective/ssl/server1.example.com.pem', 'etc/tscollective/ssl/clients/alice.pem',
    'etc/tscollective/facts.yaml', 'etc/tscollective/policies/rpcutil.policy', 'var/log/tscollective/server.log', 'var/log/tscollective/audit.log',
    'var/lib/tscollective/replay-server1.example.com.journal']) {
    assert.ok(existsSync(join(destdir, path)), `${path} under DESTDIR`);
  }
  assert.ok(existsSync(join(home, '.tscollective', 'alice-private.pem')));
  assert.match(readFileSync(join(destdir, 'var/log/tscollective/audit.log'), 'utf8'), /"agent":"rpcutil","action":"get_fact"/);
  assert.ok(!existsSync(join(destdir, 'run', 'tscollectived.pid')), 'the daemon removed its pid file when it stopped');
});
