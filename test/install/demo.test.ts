/**
 * `npm run demo` (dist/examples/demo.js), the first thing a fresh clone runs: it finishes with exit 0, every step
 * shows what the README promises (three nodes answer a ping, the filtered rpc reaches the two UK nodes, the
 * inventory and the registration store), and the output is text for people: no JSON log lines, nothing on stderr.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const DEMO = fileURLToPath(new URL('../../examples/demo.js', import.meta.url));

test('the demo runs the main job on the embedded bus and reads as text', async () => {
  const run = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(process.execPath, [DEMO], { timeout: 120_000, env: { ...process.env, NO_COLOR: '1' } }, (error, stdout, stderr) => {
      resolve({ code: error ? Number((error as { code?: number }).code ?? -1) : 0, stdout, stderr });
    });
  });
  assert.equal(run.code, 0, `${run.stdout}\n${run.stderr}`);
  assert.equal(run.stderr, '');
  for (const node of ['node1', 'node2', 'node3']) assert.match(run.stdout, new RegExp(`^\\s+${node}\\s+time=[\\d.]+ ms$`, 'm'));
  assert.match(run.stdout, /Finished processing 2 \/ 2 hosts/);
  assert.match(run.stdout, /exit code 0; each reply was signed by its node: cert=node1, cert=node2/);
  assert.match(run.stdout, /agents: .*nettest/);
  for (const node of ['node1', 'node2', 'node3']) assert.match(run.stdout, new RegExp(`${node}\\s+signed by cert=${node}`));
  assert.match(run.stdout, /done\.\n\nNext: .*"Run for real"/);
  assert.doesNotMatch(run.stdout, /^\s*\{"level"/m, 'no JSON log lines');
});
