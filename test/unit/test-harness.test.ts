/**
 * The test infrastructure keeps its promises (docs/testing.md): a test or hook that never finishes is stopped by the
 * default per-test timeout of scripts/run-tests.mjs, a test that sets its own timeout keeps it, a service gate skips
 * its tests with the reason locally and fails them under CI=true (never a pass), and bounded waits fail naming
 * what they waited for.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { waitFor, within } from '../harness/wait.js';

const PRELOAD = fileURLToPath(new URL('../../../scripts/test-timeout.mjs', import.meta.url));
const GATE = new URL('../harness/gate.js', import.meta.url).href;

/** Runs `source` as a test file the way run-tests.mjs does; returns its TAP output and exit status. */
function runTestFile(source: string, env: Record<string, string | undefined>): { status: number | null; output: string; file: string } {
  const dir = mkdtempSync(join(tmpdir(), 'tsc-harness-'));
  const file = join(dir, 'sample.test.mjs');
  writeFileSync(file, source);
  const result = spawnSync(process.execPath, [`--import=${PRELOAD}`, '--test', '--test-force-exit', '--test-reporter=tap', file], {
    encoding: 'utf8', timeout: 60_000, env: { ...process.env, CI: undefined, NODE_TEST_CONTEXT: undefined, ...env },
  });
  return { status: result.status, output: `${result.stdout}${result.stderr}`, file };
}

test('the default timeout stops a test and a hook that never finish; an own timeout is kept; locations stay right', () => {
  const { status, output, file } = runTestFile(`
    import { before, describe, test } from 'node:test';
    const forever = () => new Promise(() => { setInterval(() => {}, 1000); });
    const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
    test('hangs', forever);
    test('takes its own longer limit', { timeout: 5000 }, () => sleep(1200));
    describe('suite whose tests together exceed the limit', () => {
      test('first', () => sleep(500));
      test('second', () => sleep(500));
    });
    describe('hook', () => {
      before(forever);
      test('after a hanging hook', () => {});
    });
  `, { TSC_TEST_TIMEOUT_MS: '800' });
  assert.notEqual(status, 0, output);
  assert.match(output, /not ok \d+ - hangs\n[\s\S]*?test timed out after 800ms/);
  assert.match(output, /\nok \d+ - takes its own longer limit/);
  assert.match(output, /\nok \d+ - suite whose tests together exceed the limit/);
  // The hook's own timeout ends it: the suite fails (its test is cancelled) and the file finishes, the interval
  // the hook left behind notwithstanding (--test-force-exit, as run-tests.mjs passes it).
  assert.match(output, /not ok \d+ - hook\n\s+---\n\s+duration_ms: [89]\d\d\.\d+\n[\s\S]*?failureType: 'hookFailed'/);
  // The reports name the test file and the line of each declaration, not the preload.
  assert.ok(output.includes(`location: '${file}:5:5'`), output);
  assert.ok(output.includes(`location: '${file}:11:5'`), output);
  assert.ok(output.includes(`location: '${file}:13:7'`), output);
  assert.doesNotMatch(output, /test-timeout\.mjs/);
});

test('a service gate skips its tests with the reason locally, and fails them under CI=true', () => {
  const source = `
    import { serviceGate } from ${JSON.stringify(GATE)};
    const gate = serviceGate('Example broker (127.0.0.1:1)', 'is not reachable', 'start it');
    gate.test('needs the broker', () => {});
    const up = serviceGate('Other service', undefined);
    up.test('runs when reachable', () => {});
  `;
  const local = runTestFile(source, {});
  assert.equal(local.status, 0, local.output);
  assert.match(local.output, /ok 1 - needs the broker # SKIP Example broker \(127\.0\.0\.1:1\) is not reachable; start it/);
  assert.match(local.output, /ok 2 - runs when reachable\n/);
  assert.match(local.output, /# pass 1\n# fail 0\n# cancelled 0\n# skipped 1/);
  const ci = runTestFile(source, { CI: 'true' });
  assert.notEqual(ci.status, 0);
  assert.match(ci.output, /not ok 1 - needs the broker[\s\S]*?Example broker \(127\.0\.0\.1:1\) is not reachable; start it \(CI=true requires every service\)/);
  assert.match(ci.output, /# pass 1\n# fail 1/);
});

test('waitFor and within fail naming what they waited for', async () => {
  await assert.rejects(waitFor(() => false, { timeoutMs: 30, what: 'the reply to ping' }), /timed out after 30 ms waiting for the reply to ping/);
  await assert.rejects(within(new Promise(() => {}), { timeoutMs: 30, what: 'the message at node1' }), /timed out after 30 ms waiting for the message at node1/);
  let ready = false;
  setTimeout(() => { ready = true; }, 20);
  await waitFor(() => ready, { timeoutMs: 5000, what: 'the flag' });
  assert.equal(await within(Promise.resolve(7), { timeoutMs: 5000, what: 'a value' }), 7);
});
