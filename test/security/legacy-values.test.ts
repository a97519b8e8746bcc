/**
 * The Ruby value model of protocol version 1 against Ruby itself: test/vectors/legacy-ruby-values.json holds values
 * Ruby 3.1 wrote with Marshal.dump and YAML.dump (Psych 4 / libyaml 0.2.5). Both readers must give the same value,
 * and the YAML writer must reproduce Psych's bytes exactly.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MalformedMessageError } from '../../src/errors.js';
import { DEFAULT_V1_LIMITS, RubyHash, fromPlain, inspect, rubyEqual, sym, toPlain, type RubyValue } from '../../plugins/security/aes_security/v1/index.js';
import { readMarshal, writeMarshal } from '../../plugins/security/aes_security/v1/marshal.js';
import { emitYaml } from '../../plugins/security/aes_security/v1/yaml-emit.js';
import { loadYaml } from '../../plugins/security/aes_security/v1/yaml-load.js';
import { psychTokenize } from '../../plugins/security/aes_security/v1/psych-scalar.js';
import { repoFile } from './legacy-fixtures.js';

const vectors = JSON.parse(repoFile('test/vectors/legacy-ruby-values.json').toString('utf8')) as {
  values: Array<{ inspect: string; marshal_hex: string; yaml: string; yaml_read_back_marshal_hex: string | null }>;
};
const L = DEFAULT_V1_LIMITS;
/** Ruby Floats with integral values (100.0, 1.0e+20) read as JS numbers and are written back as Integers, on purpose. */
const INTEGRAL_FLOAT = /(?:^|[^\w."])-?\d+\.0(?:e[+-]\d+)?(?=$|[,\]}])/;

test('the Ruby value vectors are all there', () => {
  assert.ok(vectors.values.length >= 80, String(vectors.values.length));
});

for (const [i, v] of vectors.values.entries()) {
  test(`Ruby value #${i} ${v.inspect.slice(0, 50)}: both readers agree with Ruby, YAML written byte for byte`, () => {
    const fromMarshal = readMarshal(Buffer.from(v.marshal_hex, 'hex'), L);
    assert.ok(rubyEqual(readMarshal(writeMarshal(fromMarshal), L), fromMarshal), 'Marshal round trip');
    if (v.yaml_read_back_marshal_hex === null) {
      // Psych writes aliases for shared Arrays, which MCollective's safe_load (and this reader) refuse.
      assert.throws(() => loadYaml(Buffer.from(v.yaml, 'utf8'), L), /alias/i);
      return;
    }
    // What Ruby itself reads back from its YAML (a binary ASCII String comes back as UTF-8, a nil key as nil).
    const rubyReadBack = readMarshal(Buffer.from(v.yaml_read_back_marshal_hex, 'hex'), L);
    const fromYaml = loadYaml(Buffer.from(v.yaml, 'utf8'), L);
    assert.ok(rubyEqual(fromYaml, rubyReadBack), `yaml ${inspect(fromYaml)} ruby ${inspect(rubyReadBack)}`);
    if (!INTEGRAL_FLOAT.test(v.inspect)) assert.equal(emitYaml(fromMarshal).toString('utf8'), v.yaml);
    else assert.ok(rubyEqual(loadYaml(emitYaml(fromMarshal), L), fromMarshal), 'integral Float read back as the same number');
  });
}

test('Ruby shares a String by an object link; the reader follows links to finished objects', () => {
  const shared = vectors.values.find((v) => v.inspect === '["shared", "shared", {:x=>"shared"}]')!;
  assert.match(shared.marshal_hex, /40/); // '@' link
  const value = readMarshal(Buffer.from(shared.marshal_hex, 'hex'), L) as RubyValue[];
  assert.equal(value[1], 'shared');
  const sharedArray = vectors.values.find((v) => v.inspect === '[[1, 2], [1, 2], {:y=>[1, 2]}]')!;
  const array = readMarshal(Buffer.from(sharedArray.marshal_hex, 'hex'), L) as RubyValue[];
  assert.deepEqual(array[1], [1, 2]);
  assert.equal(emitYaml(array).toString('utf8'), '---\n- - 1\n  - 2\n- - 1\n  - 2\n- :y:\n  - 1\n  - 2\n', 'written out in full, no aliases');
});

test('plain YAML scalars resolve as Psych resolves them', () => {
  const cases: Array<[string, RubyValue]> = [
    ['abc', 'abc'], ['', null], ['~', null], ['null', null], ['yes', true], ['No', false], ['on', true], ['OFF', false], ['y', 'y'],
    ['42', 42], ['-7', -7], ['1_000', 1000], ['1,000', 1000], ['0x1f', 31], ['017', 15], ['0b101', 5], ['08', '08'],
    ['1.5', 1.5], ['1.', 1], ['.5', 0.5], ['1.0e+20', 1e20], ['.inf', Infinity], ['-.inf', -Infinity],
    ['1:30', 5400], ['1:30:15', 5415], [':sym', sym('sym')], [':"quoted sym"', sym('quoted sym')], ['a: b', 'a: b'],
    ['123456789012345678901', 123456789012345678901n],
  ];
  for (const [text, expected] of cases) assert.ok(rubyEqual(psychTokenize(text), expected), `${text} -> ${inspect(psychTokenize(text))}`);
  assert.ok(Number.isNaN(psychTokenize('.nan') as number));
  assert.throws(() => psychTokenize('2024-01-02'), /date or time/);
  assert.throws(() => psychTokenize('2024-01-02 10:11:12'), /date or time/);
  assert.equal(psychTokenize('2024-13-45'), '2024-13-45');
});

test('toPlain and fromPlain: Symbol keys for bodies, collisions refused', () => {
  const hash = fromPlain({ agent: 'rpcutil', data: { n: 1, list: [1, { k: 'v' }] } }) as RubyHash;
  assert.equal(inspect(hash), '{:agent=>"rpcutil", :data=>{:n=>1, :list=>[1, {:k=>"v"}]}}');
  assert.deepEqual(toPlain(hash), { agent: 'rpcutil', data: { n: 1, list: [1, { k: 'v' }] } });
  assert.equal(inspect(fromPlain({ fact: [] }, 'string')), '{"fact"=>[]}');
  assert.throws(() => toPlain(new RubyHash([[sym('a'), 1], ['a', 2]])), /collide/);
  assert.throws(() => toPlain(new RubyHash([[1, 1]])), /no plain equivalent/);
  assert.throws(() => fromPlain(new Date()), /no Ruby equivalent/);
  assert.throws(() => fromPlain({ f: () => 1 }), /no Ruby equivalent/);
});

test('YAML reading refuses what Ruby objects would need, and dates', () => {
  const refuse = (text: string, pattern: RegExp) => assert.throws(() => loadYaml(Buffer.from(text), L), (e: unknown) => e instanceof MalformedMessageError && pattern.test(e.message));
  refuse('--- !ruby/object:OpenStruct\ntable: {}\n', /unknown|tag/);
  refuse('--- !ruby/hash:Foo\na: 1\n', /unknown|tag/);
  refuse('--- !ruby/regexp /x/\n', /unknown|tag/);
  refuse('--- !ruby/struct:S\na: 1\n', /unknown|tag/);
  refuse('--- 2024-01-02\n', /date or time/);
  refuse('---\na: 1\na: 2\n', /duplicate/);
  refuse('---\n<<: {a: 1}\n', /merge/);
  refuse('--- "a\u0007b"\n', /control character U\+0007/);
  refuse('--- "a\u2028b"\n', /line separator/);
  refuse('--- a\n--- b\n', /one document|single document/);
  refuse('', /empty|expected a document|one document/);
  refuse('---\na: &x [1]\nb: *x\n', /alias/i);
});
