/**
 * The real tscollectived process and its log file: SIGUSR2 reopens it after it was moved away (and does
 * nothing else), max_log_size/keeplogs rotate it, the shipped logrotate snippet (config/logrotate/tscollective)
 * rotates it and makes the daemon reopen it, and the metrics endpoint it announces answers. The memory connector
 * keeps the daemon off the brokers.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateKeyPairFiles } from '../../src/keys/index.js';
import { serviceGate } from '../harness/gate.js';
import { startDaemonProcess, type DaemonProcess } from '../integration/harness/daemon-process.js';
import { waitFor } from './helpers.js';

const DAEMON = fileURLToPath(new URL('../../src/cli/tscollectived.js', import.meta.url));
const SNIPPET = fileURLToPath(new URL('../../../config/logrotate/tscollective', import.meta.url));

/** Sends `signal` and waits until the daemon's stderr has `count` lines containing `text`. */
async function signalAndWait(daemon: DaemonProcess, signal: NodeJS.Signals, text: string, count: number): Promise<void> {
  daemon.child.kill(signal);
  await waitFor(() => daemon.stderr().split(text).length - 1 >= count, `${count} "${text}" lines after ${signal}`, 30_000);
}

describe('tscollectived log file', () => {
  let daemon: DaemonProcess;
  before(async () => {
    daemon = await startDaemonProcess({ connector: 'memory', max_log_size: 0, 'plugin.prometheus.port': 0 });
  });
  after(async () => {
    await daemon?.stop();
  });

  test('SIGUSR2 reopens the log file at its path after it was moved away, and the daemon keeps running', async () => {
    await waitFor(() => daemon.logLines('tscollectived started').length === 1, 'the start line in the log');
    const moved = `${daemon.logFile}.moved`;
    renameSync(daemon.logFile, moved);
    daemon.child.kill('SIGUSR2');
    await waitFor(() => daemon.logLines('log file reopened').length === 1, 'the reopened line in a new log file', 30_000);
    assert.match(readFileSync(moved, 'utf8'), /tscollectived started/);
    assert.doesNotMatch(readFileSync(moved, 'utf8'), /log file reopened/);
    assert.doesNotMatch(readFileSync(daemon.logFile, 'utf8'), /tscollectived started/);
    assert.equal(daemon.child.exitCode, null, 'still running');
    assert.doesNotMatch(daemon.stderr(), /reloaded/, 'SIGUSR2 does not reload');
  });

  test('announces its metrics endpoint, which answers', async () => {
    const url = /metrics on (http:\/\/127\.0\.0\.1:\d+\/metrics)/.exec(daemon.stderr())?.[1];
    assert.ok(url, `no metrics URL in: ${daemon.stderr()}`);
    const response = await fetch(url);
    assert.equal(response.status, 200);
    assert.match(await response.text(), /^tscollective_daemon_messages_total 0$/m);
  });
});

test('max_log_size and keeplogs rotate the daemon\'s log file, keeping keeplogs files', async () => {
  const daemon = await startDaemonProcess({ connector: 'memory', max_log_size: 4096, keeplogs: 2 });
  try {
    // Each SIGHUP writes two log lines (reopened, reloaded): enough of them fill several 4 KiB files.
    for (let round = 1; round <= 40; round++) await signalAndWait(daemon, 'SIGHUP', 'reloaded (SIGHUP)', round);
    await waitFor(() => existsSync(`${daemon.logFile}.2`), 'a second rotated file');
    assert.ok(!existsSync(`${daemon.logFile}.3`), 'no file beyond keeplogs = 2');
    for (const file of [`${daemon.logFile}.1`, `${daemon.logFile}.2`]) assert.ok(statSync(file).size <= 4096, `${file} over max_log_size`);
    assert.match(readFileSync(daemon.logFile, 'utf8'), /reloaded keys/);
  } finally {
    await daemon.stop();
  }
});

/** A server.cfg of its own in a fresh folder (keys made here), with `extra` settings; returns the folder and file. */
async function ownConfig(prefix: string, extra: string[]): Promise<{ dir: string; cfg: string }> {
  const dir = mkdtempSync(join(tmpdir(), `tsc-${prefix}-`));
  const keys = await generateKeyPairFiles('logtest', { dir: join(dir, 'keys') });
  mkdirSync(join(dir, 'certs'));
  const cfg = join(dir, 'server.cfg');
  writeFileSync(cfg, ['identity = logtest', `statedir = ${join(dir, 'state')}`, `plugin.yaml = ${join(dir, 'none.yaml')}`,
    `plugin.aes.server_private = ${keys.privatePath}`, `plugin.aes.server_public = ${keys.publicPath}`, `plugin.aes.client_cert_dir = ${join(dir, 'certs')}`,
    ...extra, ''].join('\n'));
  return { dir, cfg };
}

test('a log file that cannot be opened stops the start with exit 1, naming logfile, the path and the reason', async () => {
  const { dir, cfg } = await ownConfig('badlog', ['connector = memory']);
  writeFileSync(join(dir, 'plain'), '');
  writeFileSync(cfg, `${readFileSync(cfg, 'utf8')}logfile = ${join(dir, 'plain', 'server.log')}\n`);
  const run = spawnSync(process.execPath, [DAEMON, '--config', cfg], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(run.status, 1, run.stderr);
  assert.match(run.stderr, /refusing to start: configuration has 1 problem\(s\):\n\s+- logfile: cannot open the log file .*plain\/server\.log: (EEXIST|ENOTDIR)/);
  rmSync(dir, { recursive: true, force: true });
});

test('SIGHUP and SIGUSR2 while the daemon is still starting (broker unreachable) do not kill it', async () => {
  const { dir, cfg } = await ownConfig('startsig', ['connector = amqp', 'plugin.amqp.host = 127.0.0.1', 'plugin.amqp.port = 1',
    'plugin.amqp.initial_reconnect_delay = 0.05', 'plugin.amqp.max_reconnect_delay = 0.2', 'logfile = LOG']);
  const logFile = join(dir, 'server.log');
  writeFileSync(cfg, readFileSync(cfg, 'utf8').replace('logfile = LOG', `logfile = ${logFile}`));
  const child = spawn(process.execPath, [DAEMON, '--config', cfg], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const attempts = (): number => (existsSync(logFile) ? readFileSync(logFile, 'utf8').split('"attempt":').length - 1 : 0);
  try {
    await waitFor(() => attempts() >= 2, `connect attempts in the log (${stderr})`, 30_000);
    child.kill('SIGHUP');
    child.kill('SIGUSR2');
    const seen = attempts();
    await waitFor(() => attempts() >= seen + 2, 'more connect attempts after the signals', 30_000);
    assert.equal(child.exitCode, null, `still starting: ${stderr}`);
    assert.equal(child.signalCode, null);
  } finally {
    child.kill('SIGKILL');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  }
});

const logrotateMissing = spawnSync('logrotate', ['--version']).error ? 'is not installed' : process.getuid?.() !== 0 ? 'needs root (the snippet creates root-owned files)' : undefined;
const logrotate = serviceGate('logrotate', logrotateMissing, 'install it: apt-get install logrotate');

describe('config/logrotate/tscollective', () => {
  test('signals only the main process, with SIGUSR2, by systemd or else by the pid file', () => {
    const text = readFileSync(SNIPPET, 'utf8');
    assert.match(text, /^\/var\/log\/tscollective\/server\.log \/var\/log\/tscollective\/audit\.log \{$/m);
    assert.match(text, /systemctl kill --kill-who=main --signal=SIGUSR2 tscollectived\.service/);
    assert.match(text, /kill -USR2 "\$\(cat \/run\/tscollectived\.pid\)"/);
  });

  logrotate.test('parses (logrotate -d)', () => {
    const run = spawnSync('logrotate', ['-d', SNIPPET], { encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
    assert.doesNotMatch(run.stderr, /error/i);
  });

  logrotate.test('rotates a running daemon\'s log, which then writes to the new file', async () => {
    const daemon = await startDaemonProcess({ connector: 'memory', max_log_size: 0 });
    try {
      await waitFor(() => daemon.logLines('tscollectived started').length === 1, 'the start line in the log');
      const audit = join(daemon.dir, 'audit.log');
      writeFileSync(audit, '{"audit":1}\n');
      // The snippet with this daemon's paths; a unit name that is not running, so the pid-file branch is used.
      const conf = join(daemon.dir, 'logrotate.conf');
      writeFileSync(conf, readFileSync(SNIPPET, 'utf8')
        .replaceAll('/var/log/tscollective/server.log', daemon.logFile)
        .replaceAll('/var/log/tscollective/audit.log', audit)
        .replaceAll('/run/tscollectived.pid', join(daemon.dir, 'tscollectived.pid'))
        .replaceAll('tscollectived.service', `tscollectived-test-${process.pid}.service`), { mode: 0o644 });
      const run = spawnSync('logrotate', ['-f', '-s', join(daemon.dir, 'logrotate.state'), conf], { encoding: 'utf8' });
      assert.equal(run.status, 0, run.stderr);
      assert.match(readFileSync(`${daemon.logFile}.1`, 'utf8'), /tscollectived started/);
      assert.equal(readFileSync(`${audit}.1`, 'utf8'), '{"audit":1}\n');
      await waitFor(() => daemon.logLines('log file reopened').length === 1, 'the daemon to reopen its log', 30_000);
      assert.equal(daemon.child.exitCode, null, 'still running');
    } finally {
      await daemon.stop();
    }
  });
});
