/**
 * Seeded random fleets, fact filters and compound expressions over awkward values (numbers in every spelling,
 * padded, infinite, empty, accented, astral, lexical look-alikes): every backend must select what the daemon's
 * matcher selects.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileFilter } from '../../src/filter/match.js';
import type { RegistrationFactFilter, RegistrationUpdate } from '../../src/inter/registration.js';
import { factsObject } from '../../src/registration/stores/record.js';
import { forEachBackend, seededStore } from './backends.js';

const VALUES = [
  '0', '1', '-1', '1.0', '1.10', '1.9', '10', '2', '+3', '.5', '5.', '1e3', '1E-2', '1e999', '-1e999', ' 7 ', '-0', '00', '007',
  'abc', 'ABC', 'a', '', ' ', 'z', 'é', '\u{1F600}', '\uE000', '\uFFFD', '1.2.3', '0x10', 'NaN', 'Infinity', 'uk', 'us', '10.0.0.1',
];
const PATTERNS = ['^a', '1', '/^A/i', '\\d', '^$', '^1', '0$', 'é', '/U/i', '\\.'];
const OPERATORS: Array<RegistrationFactFilter['operator']> = ['==', '!=', '<', '>', '<=', '>=', '=~'];
const FACTS = ['alpha', 'beta', 'gamma'];

/** A small deterministic generator (mulberry32), so a failure is reproducible. */
function generator(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const random = generator(20261130);
const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;

const CLASSES = ['web', 'db', 'base', 'role::x', 'role::y'];

const NODES: RegistrationUpdate[] = Array.from({ length: 120 }, (_, index) => ({
  identity: `node${String(index).padStart(3, '0')}`, collective: 'mcollective', signer: `cert=node${index}`, senderProof: 'certificate',
  agents: ['rpcutil'], time: 1_700_000_000_000,
  facts: Object.fromEntries(FACTS.filter(() => random() < 0.8).map((fact) => [fact, pick(VALUES)])),
  classes: CLASSES.filter(() => random() < 0.4),
}));

/** Values and patterns a compound statement can hold without quoting. */
const BARE_VALUES = VALUES.filter((value) => /^[\w.+-]+$/.test(value));
const BARE_PATTERNS = ['^a', '1', '\\d', '^1', '0$', 'U'];

function statement(): string {
  const roll = random();
  if (roll < 0.2) return random() < 0.5 ? pick(CLASSES) : `/^${pick(['role', 'w', 'd', 'b'])}/`;
  const fact = pick(FACTS);
  if (roll < 0.45) return `${fact}=~/${pick(BARE_PATTERNS)}/`;
  return `${fact}${pick(['=', '!=', '<', '>', '<=', '>='])}${pick(BARE_VALUES)}`;
}

/** A random and/or/not expression of depth at most `depth`. */
function expression(depth: number): string {
  const roll = random();
  if (depth === 0 || roll < 0.3) return statement();
  if (roll < 0.45) return `not ${expression(depth - 1)}`;
  return `(${expression(depth - 1)} ${random() < 0.5 ? 'and' : 'or'} ${expression(depth - 1)})`;
}

const COMPOUNDS: string[][] = Array.from({ length: 150 }, () => (random() < 0.8 ? [expression(4)] : [expression(3), expression(2)]));

const FILTERS: RegistrationFactFilter[][] = Array.from({ length: 200 }, () => {
  const count = random() < 0.7 ? 1 : 2;
  return Array.from({ length: count }, () => {
    const operator = pick(OPERATORS);
    const value = operator === '=~' ? pick(PATTERNS) : random() < 0.1 ? `/${pick(PATTERNS.filter((p) => !p.startsWith('/')))}/` : pick(VALUES);
    return { fact: pick(FACTS), operator, value };
  });
});

function reference(filter: RegistrationFactFilter[], compound: string[] = []): string[] {
  const matches = compileFilter({ fact: filter, cf_class: [], agent: [], identity: [], compound });
  return NODES.filter((node) => matches({ identity: node.identity, facts: factsObject(Object.entries(node.facts ?? {})), classes: node.classes ?? [], agents: node.agents }))
    .map((node) => node.identity);
}

test('the random filters select varied sets', () => {
  const sizes = [...FILTERS.map((filter) => reference(filter).length), ...COMPOUNDS.map((compound) => reference([], compound).length)];
  assert.ok(sizes.filter((size) => size > 0 && size < NODES.length).length > sizes.length / 2, sizes.join(' '));
});

forEachBackend('random fact filters', (backend) => {
  const store = seededStore(backend, NODES);

  test('200 filters agree with the daemon matcher', async () => {
    const disagreements: string[] = [];
    for (const filter of FILTERS) {
      const expected = reference(filter);
      const actual = await store().query({ filter: { fact: filter } });
      if (JSON.stringify(actual) !== JSON.stringify(expected)) {
        disagreements.push(`${JSON.stringify(filter)}: expected ${expected.length} [${expected.slice(0, 5).join(' ')}...], got ${actual.length} [${actual.slice(0, 5).join(' ')}...]`);
      }
    }
    assert.deepEqual(disagreements, []);
  });

  test('150 compound expressions agree with the daemon matcher', async () => {
    const disagreements: string[] = [];
    for (const compound of COMPOUNDS) {
      const expected = reference([], compound);
      const actual = await store().query({ filter: { compound } });
      if (JSON.stringify(actual) !== JSON.stringify(expected)) disagreements.push(`${JSON.stringify(compound)}: expected ${expected.length}, got ${actual.length}`);
    }
    assert.deepEqual(disagreements, []);
  });
});
