import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError } from '../../src/errors.js';
import { loadConfig, parseConfig } from '../../src/config/index.js';
import { fixture, registerTestSchema } from '../fixtures/config/testns-schema.js';

registerTestSchema();

function yaml(text: string, env: Record<string, string | undefined> = {}) {
  return parseConfig(text, { source: 'server.yaml', env });
}

function problemsOf(run: () => unknown): readonly string[] {
  try {
    run();
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected ConfigError, got ${String(error)}`);
    return error.problems;
  }
  assert.fail('expected a ConfigError');
}

describe('YAML configuration', () => {
  test('reads a server.yaml mixing flat dotted keys and nested maps', () => {
    const config = loadConfig(fixture('server.yaml'), { env: {} });
    assert.equal(config.string('identity'), 'web01.example.com');
    assert.deepEqual(config.list('collectives'), ['mcollective', 'uk_collective']);
    assert.deepEqual(config.list('libdir'), ['/usr/libexec/mcollective', '/opt/plugins']);
    assert.equal(config.integer('registerinterval'), 300);
    assert.equal(config.integer('plugin.testns.count'), 3);
    assert.equal(config.boolean('plugin.testns.enabled'), false);
    assert.equal(config.string('plugin.testns.pool.1.host'), 'broker1.example.com');
    assert.equal(config.boolean('plugin.actionpolicy.allow_unconfigured'), true);
    assert.equal(config.boolean('plugin.puppet.splay'), true);
    assert.equal(config.origin('plugin.testns.pool.1.host'), `${fixture('server.yaml')}:15`);
    assert.deepEqual(config.warnings, []);
  });

  test('flat and nested spellings give the same settings', () => {
    const flat = yaml('plugin.testns.count: 4\nplugin.testns.pool.2.host: h\n');
    const nested = yaml('plugin:\n  testns:\n    count: 4\n    pool:\n      2:\n        host: h\n');
    for (const config of [flat, nested]) {
      assert.deepEqual(config.keys(), ['plugin.testns.count', 'plugin.testns.pool.2.host']);
      assert.equal(config.integer('plugin.testns.count'), 4);
      assert.equal(config.string('plugin.testns.pool.2.host'), 'h');
    }
  });

  test('the format follows the file extension, or the format option', () => {
    assert.equal(parseConfig('ttl: 30', { source: 'a.yml', env: {} }).integer('ttl'), 30);
    assert.equal(parseConfig('ttl: 30', { source: 'from-a-pipe', format: 'yaml', env: {} }).integer('ttl'), 30);
  });

  test('a key set both flat and nested: the later wins with a warning naming both lines', () => {
    const config = yaml('plugin:\n  testns:\n    count: 4\nplugin.testns.count: 8\n');
    assert.equal(config.integer('plugin.testns.count'), 8);
    assert.deepEqual(config.warnings, ['server.yaml:4: plugin.testns.count: also set at line 3; the later value (line 4) wins']);
  });

  test('scalars are read as text and typed by the schema, with file:line in problems', () => {
    assert.equal(yaml('plugin.testns.enabled: yes').boolean('plugin.testns.enabled'), true);
    assert.equal(yaml('identity: "007"').string('identity'), '007');
    // A null is an empty value, exactly like `key =` in a cfg file.
    assert.equal(yaml('plugin.testns.secret: ~').string('plugin.testns.secret'), '');
    assert.deepEqual(problemsOf(() => yaml('logfile:\n')), ['server.yaml:1: logfile: expected a path, got ""']);
    assert.deepEqual(problemsOf(() => yaml('identity: n1\nplugin:\n  testns:\n    enabled: maybe\n    count: [1, 2]\n')), [
      'server.yaml:4: plugin.testns.enabled: expected a boolean (0/1/true/false/yes/no), got "maybe"',
      'server.yaml:5: plugin.testns.count: expected an integer, got a list',
    ]);
  });

  test('unknown keys under a known namespace are warnings with suggestions', () => {
    assert.deepEqual(yaml('plugin:\n  testns:\n    enabeld: 1\n').warnings, ['server.yaml:3: plugin.testns.enabeld: unknown key in namespace "testns"; did you mean plugin.testns.enabled?']);
  });

  test('environment overrides apply to YAML files too', () => {
    const config = yaml('plugin.testns.count: 4', { TSC_TESTNS_COUNT: '12' });
    assert.equal(config.integer('plugin.testns.count'), 12);
  });

  test('an empty file is an empty configuration', () => {
    assert.deepEqual(yaml('# nothing\n').keys(), []);
    assert.deepEqual(yaml('---\n').keys(), []);
  });

  for (const [what, text, expected] of [
    ['tags (no types are constructed)', 'identity: !!js/function "x"\nttl: !ruby/object:Foo {}\n', [
      'server.yaml:1: YAML tags are not supported in configuration files, got !!js/function',
      'server.yaml:2: YAML tags are not supported in configuration files, got !ruby/object:Foo',
    ]],
    ['aliases', 'base: &b n1\nidentity: *b\n', ['server.yaml:2: aliases are not supported in configuration files']],
    ['a document that is not a mapping', '- a\n- b\n', ['server.yaml:1: the document must be a mapping of settings']],
    ['several documents', 'ttl: 1\n---\nttl: 2\n', ['server.yaml: expected one YAML document, found 2']],
    ['nested lists', 'plugin.testns.hosts:\n  - [a, b]\n', ['server.yaml:2: plugin.testns.hosts: list items must be plain values']],
    ['a syntax error, with its line', 'ttl: 1\n  identity: : x\n', ['server.yaml:2: YAML syntax error: bad indentation of a mapping entry']],
  ] as const) {
    test(`refuses ${what}`, () => {
      assert.deepEqual(problemsOf(() => yaml(text)), expected);
    });
  }
});
