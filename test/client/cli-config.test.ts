/** tsco with a bad client configuration: every problem at once (file values, provider, connector), exit 1. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const TSCO = new URL('../../src/cli/tsco.js', import.meta.url).pathname;

test('tsco lists invalid file values together with the provider and connector problems of the rest', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsco-badcfg-'));
  try {
    const cfg = join(dir, 'client.cfg');
    writeFileSync(cfg, 'connector = zeromq\nplugin.aes.learn_pubkeys = maybe\nplugin.aes.send_pubky = 1\n');
    const result = spawnSync(process.execPath, [TSCO, '--config', cfg, 'ping'], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(result.status, 1);
    assert.match(result.stderr, /client\.cfg:2: plugin\.aes\.learn_pubkeys: expected a boolean/);
    assert.match(result.stderr, /unknown connector "zeromq"/);
    assert.match(result.stderr, /plugin\.aes\.client_private is not set/);
    assert.match(result.stderr, /warning: .*send_pubky.*did you mean plugin\.aes\.send_pubkey\?/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
