/** YAML facts (flattened with dots) and classes files. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FactsError } from '../../src/errors.js';
import { NodeFactSource, parseClasses, parseYamlFacts } from '../../src/facts/index.js';
import { CapturingLogger } from '../../src/util/log.js';
import { MemoryCounters } from '../../src/util/counters.js';
import { tempDir } from './helpers.js';

test('nested facts flatten with dots, lists by index, scalars as strings', () => {
  assert.deepEqual(parseYamlFacts('os:\n  family: debian\n  release: {major: 12}\nips: [10.0.0.1]\nvirtual: true\ncores: 4\nnothing: null\n', 'f.yaml'), {
    'os.family': 'debian', 'os.release.major': '12', 'ips.0': '10.0.0.1', virtual: 'true', cores: '4', nothing: '',
  });
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
  assert.deepEqual(source.facts(), { country: 'uk', role: 'db' });
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
