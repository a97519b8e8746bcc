/**
 * The fleet bench (bench/fleet.ts) as a smoke test: 50 virtual servers (daemon instances, each with its own
 * key, connection and queues) against the shared RabbitMQ over AMQP, one measured broadcast of rpcutil#ping from a
 * separate client process. Asserts that every reply arrived and verified, and that the row has the bench's fields;
 * never its timings (the real figures come from `npm run bench:fleet`).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { amqpGate } from './harness/brokers.js';

const BENCH = fileURLToPath(new URL('../../bench/fleet.js', import.meta.url));
const rabbit = await amqpGate();

rabbit.test('bench:fleet with 50 virtual servers over AMQP: every reply received and verified', async () => {
  const { stdout, stderr, code } = await new Promise<{ stdout: string; stderr: string; code: number | null }>((resolve) => {
    execFile(process.execPath, [BENCH, '--nodes', '50', '--broker', 'shared', '--processes', '1', '--rounds', '1', '--json'],
      { timeout: 280_000, maxBuffer: 8 * 2 ** 20 }, (error, out, err) => resolve({ stdout: out, stderr: err, code: error ? (error as { code?: number }).code ?? 1 : 0 }));
  });
  assert.equal(code, 0, `the bench failed:\n${stderr}\n${stdout}`);
  const row = JSON.parse(stdout.trim().split('\n').at(-1)!) as Record<string, unknown>;
  assert.equal(row['nodes'], 50);
  assert.equal(row['mode'], 'ephemeral');
  assert.equal(row['connector'], 'amqp');
  assert.equal(row['verified'], true, JSON.stringify(row['problems']));
  assert.deepEqual(row['problems'], []);
  assert.deepEqual((row['rounds'] as Array<{ replies: number }>).map((round) => round.replies), [50]);
  for (const field of ['wall_ms', 'replies_per_s', 'client_cpu_ms_per_reply', 'floor_cpu_ms_per_reply']) {
    assert.ok(typeof row[field] === 'number' && (row[field] as number) > 0, `${field} is a positive number`);
  }
});
