/**
 * config/systemd/tscollectived.service: what it promises (docs/install.md) is in it, and `systemd-analyze verify`
 * accepts it without a warning (ExecStart pointed at this build, since verify checks the program exists).
 * Without systemd-analyze the verify test is skipped with the reason (failed under CI=true).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { coreSchema } from '../../src/config/core-schema.js';
import { serviceGate } from '../harness/gate.js';

const UNIT = fileURLToPath(new URL('../../../config/systemd/tscollectived.service', import.meta.url));
const DAEMON = fileURLToPath(new URL('../../src/cli/tscollectived.js', import.meta.url));

/** `Key=value` settings of the unit (comments dropped), by key; a key may repeat. */
function settings(text: string): Map<string, string[]> {
  const map = new Map<string, string[]>();
  for (const line of text.split('\n')) {
    const match = /^([A-Za-z]+)=(.*)$/.exec(line.trim());
    if (match) map.set(match[1]!, [...(map.get(match[1]!) ?? []), match[2]!]);
  }
  return map;
}

test('the unit runs tscollectived in the foreground, reloads with SIGHUP, and its StateDirectory is statedir', () => {
  const unit = settings(readFileSync(UNIT, 'utf8'));
  assert.deepEqual(unit.get('Type'), ['simple']);
  assert.deepEqual(unit.get('ExecStart'), ['/usr/local/bin/tscollectived --config /etc/tscollective/server.cfg']);
  assert.deepEqual(unit.get('ExecReload'), ['/bin/kill -HUP $MAINPID']);
  assert.deepEqual(unit.get('KillMode'), ['mixed'], 'SIGTERM to the daemon only, so running external agents can finish');
  assert.equal(`/var/lib/${unit.get('StateDirectory')?.[0]}`, coreSchema.keys['statedir']!.default);
  assert.deepEqual(unit.get('LogsDirectory'), ['tscollective'], 'the directory of the sample logfile /var/log/tscollective/server.log');
  assert.equal(unit.get('MemoryDenyWriteExecute'), undefined, 'the JIT needs writable and executable memory');
  assert.equal(unit.get('RestrictSUIDSGID'), undefined, 'package installs by agents create setuid files');
  for (const option of ['PrivateTmp', 'LockPersonality', 'RestrictRealtime', 'ProtectKernelLogs']) assert.deepEqual(unit.get(option), ['yes'], option);
  assert.ok(!/--pidfile|daemonize/.test(readFileSync(UNIT, 'utf8').split('\n').filter((line) => !line.startsWith('#')).join('\n')));
});

const verifyMissing = spawnSync('systemd-analyze', ['--version']).error ? 'is not installed' : undefined;
const verify = serviceGate('systemd-analyze', verifyMissing, 'install systemd');

verify.test('systemd-analyze verify accepts the unit without a warning', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsc-unit-'));
  try {
    const unit = join(dir, 'tscollectived.service');
    writeFileSync(unit, readFileSync(UNIT, 'utf8').replace('/usr/local/bin/tscollectived', `${process.execPath} ${DAEMON}`));
    const run = spawnSync('systemd-analyze', ['verify', unit], { encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
    assert.equal(run.stderr.split('\n').filter((line) => line.includes('tscollectived.service')).join('\n'), '');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
