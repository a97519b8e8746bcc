/** Group commit: batches, per-node order, concurrency, one failure not failing the others, and idle(). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { RegisteredNode } from '../../src/inter/registration.js';
import { GroupCommit } from '../../src/registration/stores/group-commit.js';
import { normalizeUpdate, recordOf, type NormalizedUpdate } from '../../src/registration/stores/record.js';

const update = (identity: string, time: number): NormalizedUpdate =>
  normalizeUpdate({ identity, collective: 'c', signer: `cert=${identity}`, senderProof: 'key-name', agents: [], time });

/** A writer that takes `delayMs` per batch and records what each batch held and how many ran at once. */
function writer(delayMs: number, fail?: (update: NormalizedUpdate) => boolean) {
  const batches: string[][] = [];
  let running = 0;
  let most = 0;
  const write = async (updates: readonly NormalizedUpdate[]): Promise<RegisteredNode[]> => {
    running++;
    most = Math.max(most, running);
    batches.push(updates.map((u) => `${u.identity}@${u.time}`));
    await new Promise((resolve) => setTimeout(resolve, delayMs));
    running--;
    if (updates.some((u) => fail?.(u))) throw new Error(`refused ${updates.filter((u) => fail!(u)).map((u) => u.identity).join(',')}`);
    return updates.map((u) => recordOf(u, u.time, 1));
  };
  return { write, batches, most: () => most };
}

test('registrations submitted together share a batch; a lone one is written on the next turn', async () => {
  const w = writer(1);
  const commit = new GroupCommit(w.write, { maxBatch: 100, repeatsAllowed: true });
  await Promise.all(['a', 'b', 'c'].map((id) => commit.submit(update(id, 1))));
  await commit.submit(update('d', 1));
  assert.deepEqual(w.batches, [['a@1', 'b@1', 'c@1'], ['d@1']]);
});

test('batches are cut at maxBatch; without repeats a node\'s second registration waits for a later batch, in order', async () => {
  const w = writer(1);
  const commit = new GroupCommit(w.write, { maxBatch: 2, repeatsAllowed: false });
  const results = await Promise.all([update('a', 1), update('a', 2), update('b', 1), update('a', 3), update('c', 1)].map((u) => commit.submit(u)));
  assert.deepEqual(results.map((r) => `${r.identity}@${r.lastSeen}`), ['a@1', 'a@2', 'b@1', 'a@3', 'c@1']);
  assert.deepEqual(w.batches, [['a@1', 'b@1'], ['a@2', 'c@1'], ['a@3']]);
});

test('with concurrency, batches overlap but a node is never in two at once', async () => {
  const w = writer(20);
  const commit = new GroupCommit(w.write, { maxBatch: 2, repeatsAllowed: false, concurrency: 2 });
  const written = await Promise.all([update('a', 1), update('b', 1), update('a', 2), update('c', 1), update('d', 1)].map((u) => commit.submit(u)));
  assert.equal(w.most(), 2);
  assert.deepEqual(written.map((r) => `${r.identity}@${r.lastSeen}`), ['a@1', 'b@1', 'a@2', 'c@1', 'd@1']);
  // a@2 is held back while a@1 is written, and is written after it.
  const batchOf = (entry: string): number => w.batches.findIndex((batch) => batch.includes(entry));
  assert.ok(batchOf('a@2') > batchOf('a@1'));
  assert.deepEqual(w.batches.slice(0, 2), [['a@1', 'b@1'], ['c@1', 'd@1']]);
});

test('a batch the writer refuses is written again one registration at a time: only the refused one fails', async () => {
  const w = writer(1, (u) => u.identity === 'bad');
  const commit = new GroupCommit(w.write, { maxBatch: 10, repeatsAllowed: true });
  const results = await Promise.allSettled(['a', 'bad', 'c'].map((id) => commit.submit(update(id, 1))));
  assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'rejected', 'fulfilled']);
  assert.match(String((results[1] as PromiseRejectedResult).reason), /refused bad/);
  assert.deepEqual(w.batches, [['a@1', 'bad@1', 'c@1'], ['a@1'], ['bad@1'], ['c@1']]);
});

test('idle() resolves once everything submitted is written', async () => {
  const w = writer(5);
  const commit = new GroupCommit(w.write, { maxBatch: 1, repeatsAllowed: true, concurrency: 2 });
  await commit.idle();
  const settled: string[] = [];
  for (const id of ['a', 'b', 'c', 'd']) void commit.submit(update(id, 1)).then((r) => settled.push(r.identity));
  await commit.idle();
  assert.deepEqual(settled.sort(), ['a', 'b', 'c', 'd']);
});

test('without gathering, a registration arriving while idle is written at once; the ones arriving meanwhile share the next batch', async () => {
  const w = writer(10);
  const commit = new GroupCommit(w.write, { maxBatch: 100, repeatsAllowed: false, gather: false });
  const first = commit.submit(update('a', 1));
  assert.deepEqual(w.batches, [['a@1']], 'written before submit returned, without waiting a turn');
  const rest = ['b', 'c', 'd'].map((id) => commit.submit(update(id, 1)));
  await Promise.all([first, ...rest]);
  assert.deepEqual(w.batches, [['a@1'], ['b@1', 'c@1', 'd@1']]);
});
