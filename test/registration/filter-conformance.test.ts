/**
 * One set of filters, four evaluators: the in-memory matcher the daemon uses (compileFilter) is the reference,
 * and the sqlite, postgresql and directory stores must select exactly the same nodes, in identity order.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileFilter } from '../../src/filter/match.js';
import type { RequestFilter } from '../../src/inter/message.js';
import type { RegistrationQuery } from '../../src/inter/registration.js';
import { factsObject } from '../../src/registration/stores/record.js';
import { forEachBackend, seededStore } from './backends.js';
import { NODES, QUERIES } from './filter-cases.js';

/** What the daemon's matcher selects, with the query's scope applied as the stores define it. */
function reference(query: RegistrationQuery): string[] {
  const matches = query.filter ? compileFilter(query.filter as RequestFilter) : () => true;
  return NODES.filter((node) =>
    (query.collective === undefined || (node.collectives ?? [node.collective]).includes(query.collective)) &&
    (query.seenSince === undefined || node.time! >= query.seenSince) &&
    matches({ identity: node.identity, facts: factsObject(Object.entries(node.facts ?? {})), classes: node.classes ?? [], agents: node.agents }))
    .map((node) => node.identity)
    .sort();
}

test('the cases discriminate: few select nothing or everything, and the tricky ones select what fact.ts says', () => {
  const sizes = QUERIES.map(({ query }) => reference(query).length);
  assert.ok(sizes.filter((size) => size === 0).length <= QUERIES.length / 8, `too many queries select nothing: ${sizes.join(' ')}`);
  assert.ok(sizes.filter((size) => size === NODES.length).length <= 2, `too many queries select every node: ${sizes.join(' ')}`);
  assert.deepEqual(reference({ filter: { fact: [{ fact: '__proto__', operator: '==', value: 'x' }] } }), ['db2.example.com']);
  assert.deepEqual(reference({ filter: { fact: [{ fact: 'constructor', operator: '=~', value: '.' }] } }), ['db2.example.com']);
  assert.deepEqual(reference({ filter: { fact: [{ fact: 'version', operator: '==', value: '1.1' }] } }), ['web1.example.com']);
});

forEachBackend('filter conformance', (backend) => {
  const store = seededStore(backend, NODES);

  for (const { name, query } of QUERIES) {
    test(name, async () => {
      const expected = reference(query);
      assert.deepEqual(await store().query(query), expected);
      assert.equal(await store().count(query), expected.length);
    });
  }
});
