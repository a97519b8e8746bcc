/** YAML facts (flattened with dots) and classes files. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FactsError } from '../../src/errors.js';
import { mergeFacts, NodeFactSource, parseClasses, parseYamlFacts } from '../../src/facts/index.js';
import { CapturingLogger } from '../../src/util/log.js';
import { MemoryCounters } from '../../src/util/counters.js';
import { tempDir } from './helpers.js';

/** A plain copy of a null-prototype fact map, for deepEqual against object literals. */
const plain = (facts: Readonly<Record<string, string>>): Record<string, string> => ({ ...facts });

test('nested facts flatten with dots, lists by index, scalars as strings', () => {
  assert.deepEqual(plain(parseYamlFacts('os:\n  family: debian\n  release: {major: 12}\nips: [10.0.0.1]\nvirtual: true\ncores: 4\nnothing: null\n', 'f.yaml')), {
    'os.family': 'debian', 'os.release.major': '12', 'ips.0': '10.0.0.1', virtual: 'true', cores: '4', nothing: '',
  });
});

test('fact maps have no prototype: only own facts exist, and a fact named like an Object member is an ordinary fact', () => {
  const facts = parseYamlFacts('role: web\nconstructor: built\nnested: {toString: yes}\n', 'f.yaml');
  assert.equal(Object.getPrototypeOf(facts), null);
  assert.equal(facts['constructor'], 'built');
  assert.equal(facts['nested.toString'], 'yes');
  assert.equal(facts['toString'], undefined);
  assert.equal(facts['hasOwnProperty'], undefined);
  assert.equal(Object.getPrototypeOf(mergeFacts([facts, { extra: '1' }])), null);
  assert.equal(Object.getPrototypeOf(parseYamlFacts('', 'empty.yaml')), null);
  assert.throws(() => parseYamlFacts('__proto__: x\nrole: web\n', 'proto.yaml'), (e: unknown) => e instanceof FactsError && /proto\.yaml: a fact named "__proto__" is refused/.test(e.message));
  assert.deepEqual(plain(parseYamlFacts('a: {__proto__: x}\n', 'nested.yaml')), { 'a.__proto__': 'x' }, 'a nested __proto__ key is an ordinary dotted name');
});

test('unsafe or malformed fact files are refused with the file name', () => {
  assert.throws(() => parseYamlFacts('a: !!js/function "x"\n', 'f.yaml'), (e: unknown) => e instanceof FactsError && /f\.yaml/.test(e.message));
  assert.throws(() => parseYamlFacts('- a\n- b\n', 'list.yaml'), /expected a map of facts/);
});

test('classes: one per line, comments and blanks ignored', () => {
  assert.deepEqual(parseClasses('# puppet\nwebserver\n\n  base  \r\n'), ['webserver', 'base']);
});

test('a fact source re-reads changed files, merges several, and keeps the last good facts after a bad edit', () => {
  const dir = tempDir('facts');
  const first = join(dir, 'a.yaml'), second = join(dir, 'b.yaml');
  writeFileSync(first, 'country: uk\nrole: web\n');
  writeFileSync(second, 'role: db\n');
  const logger = new CapturingLogger();
  const counters = new MemoryCounters();
  const source = new NodeFactSource([first, second], join(dir, 'missing.txt'), logger, counters);
  assert.deepEqual(plain(source.facts()), { country: 'uk', role: 'db' });
  assert.equal(Object.getPrototypeOf(source.facts()), null);
  writeFileSync(first, 'country: fr\nrole: web\nextra: yes-indeed\n');
  source.invalidate();
  assert.equal(source.facts()['country'], 'fr');
  writeFileSync(first, 'country: [unclosed\n');
  source.invalidate();
  assert.equal(source.facts()['country'], 'fr', 'last good value kept');
  assert.deepEqual(source.classes(), []);
  const reported = counters.get('facts.errors');
  assert.ok(logger.find('warn', 'a.yaml').length >= 1, 'the bad file is logged');
  assert.ok(logger.find('warn', 'missing.txt').length >= 1, 'the missing classes file is logged');
  source.facts();
  source.classes();
  assert.equal(counters.get('facts.errors'), reported, 'an unchanged problem is not reported again on every use');
});

test('fact_cache_time: facts are re-read only after the cache time (or an invalidate)', () => {
  const dir = tempDir('factcache');
  const path = join(dir, 'f.yaml');
  writeFileSync(path, 'role: web\n');
  let now = 1_000_000;
  const source = new NodeFactSource([path], undefined, new CapturingLogger(), new MemoryCounters(), 300_000, () => now);
  assert.equal(source.facts()['role'], 'web');
  writeFileSync(path, 'role: db\n');
  now += 299_000;
  assert.equal(source.facts()['role'], 'web', 'still cached');
  now += 2_000;
  assert.equal(source.facts()['role'], 'db', 're-read after fact_cache_time');
  writeFileSync(path, 'role: cache\n');
  source.invalidate();
  assert.equal(source.facts()['role'], 'cache', 'SIGHUP re-reads at once');
});
