import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SerializationError, UnknownPluginError } from '../../src/errors.js';
import { getSerializer, serializerNames } from '../../src/serializers/index.js';

const sample = {
  action: 'run',
  data: {
    text: 'héllo wörld ✓ 日本語 🎉',
    empty: '',
    looksBoolean: 'yes',
    looksNumber: '0x10',
    multiline: 'line one\nline two\n',
    ints: [0, 1, -1, 127, 128, -129, 65536, -2147483649, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER],
    floats: [1.5, -0.25, 3.141592653589793, 1e300],
    flags: [true, false],
    nothing: null,
    nested: { list: [{ a: 1 }, [2, [3]], {}], 'key with spaces': 'v', 'dotted.key': 1 },
    binary: new Uint8Array([0, 1, 2, 253, 254, 255]),
    when: new Date(Date.UTC(2026, 10, 24, 7, 30, 15, 123)),
  },
};

for (const name of ['msgpack', 'yaml']) {
  const serializer = getSerializer(name);

  describe(`${name} serializer`, () => {
    test('round-trips nested data with unicode, numbers, booleans, null, binary and dates', () => {
      const bytes = serializer.serialize(sample);
      assert.ok(bytes instanceof Uint8Array);
      assert.deepEqual(serializer.deserialize(bytes), sample);
    });

    test('round-trips scalars at the root, NaN and infinities', () => {
      for (const value of ['plain', 42, -7.5, true, null, [], {}, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
        assert.deepEqual(serializer.deserialize(serializer.serialize(value)), value);
      }
      assert.ok(Number.isNaN(serializer.deserialize(serializer.serialize(Number.NaN))));
    });

    test('a Buffer comes back as a plain Uint8Array with the same bytes', () => {
      const decoded = serializer.deserialize(serializer.serialize({ key: Buffer.from('secret bytes') })) as { key: Uint8Array };
      assert.equal(Object.getPrototypeOf(decoded.key), Uint8Array.prototype);
      assert.deepEqual(decoded.key, new Uint8Array(Buffer.from('secret bytes')));
    });

    test('omits object properties that are undefined without touching the input', () => {
      const input = { kept: 1, dropped: undefined, inner: { gone: undefined, here: 'x' } };
      assert.deepEqual(serializer.deserialize(serializer.serialize(input)), { kept: 1, inner: { here: 'x' } });
      assert.ok('dropped' in input);
    });

    const refusals: Array<[string, unknown, RegExp]> = [
      ['a function', { data: { items: [1, 2, () => 3] } }, /data\.items\[2\]: a function is not data/],
      ['a symbol', { data: { s: Symbol('x') } }, /data\.s: a symbol is not data/],
      ['a bigint', { n: 10n }, /n: bigint is not supported/],
      ['a class instance', { data: { when: new URL('http://x') } }, /data\.when: an instance of URL is not supported/],
      ['a Map', { m: new Map([['a', 1]]) }, /m: an instance of Map is not supported/],
      ['a Set', { s: new Set([1]) }, /s: an instance of Set is not supported/],
      ['undefined in an array', { list: [1, undefined] }, /list\[1\]: undefined is only allowed as an object property/],
      ['undefined at the root', undefined, /\(root\): undefined/],
      ['an invalid Date', { d: new Date('nope') }, /d: invalid Date/],
      ['a key that needs quoting', { 'odd key': { f: Math.max } }, /\["odd key"\]\.f: a function/],
      ['a __proto__ key', JSON.parse('{"a": {"__proto__": {"polluted": true}}}'), /a\.__proto__: a "__proto__" key is refused/],
    ];
    for (const [what, value, message] of refusals) {
      test(`refuses ${what} with a SerializationError naming the path`, () => {
        assert.throws(() => serializer.serialize(value), (error: unknown) => {
          assert.ok(error instanceof SerializationError);
          assert.equal(error.code, 'TSC_SERIALIZATION');
          assert.match(error.message, message);
          return true;
        });
      });
    }

    test('refuses circular references', () => {
      const looped: Record<string, unknown> = { a: 1 };
      looped['self'] = { back: looped };
      assert.throws(() => serializer.serialize(looped), /self\.back: circular reference/);
    });

    test('allows the same object twice when it is not a cycle', () => {
      const shared = { x: 1 };
      assert.deepEqual(serializer.deserialize(serializer.serialize({ a: shared, b: shared })), { a: { x: 1 }, b: { x: 1 } });
    });

    test('refuses nesting deeper than 100 levels', () => {
      let deep: unknown = 'bottom';
      for (let i = 0; i < 150; i++) deep = [deep];
      assert.throws(() => serializer.serialize(deep), (error: unknown) => error instanceof SerializationError && /deeper than 100/.test(error.message));
    });

    test('refuses input that is not a Uint8Array', () => {
      assert.throws(() => serializer.deserialize('text' as unknown as Uint8Array), (error: unknown) => error instanceof SerializationError && /must be a Uint8Array, got string/.test(error.message));
    });
  });
}

describe('msgpack decoding of hostile input', () => {
  const msgpack = getSerializer('msgpack');
  const valid = msgpack.serialize(sample);

  test('every truncation of a valid message is a SerializationError', () => {
    for (let length = 0; length < valid.length; length++) {
      assert.throws(() => msgpack.deserialize(valid.subarray(0, length)), SerializationError, `length ${length}`);
    }
  });

  test('garbage and trailing bytes are SerializationErrors', () => {
    for (const bytes of [[0xc1], [0x01, 0x02], [0xdd, 0xff, 0xff, 0xff, 0xff], [0xc7, 0x05, 0x73, 0x91]]) {
      assert.throws(() => msgpack.deserialize(Uint8Array.from(bytes)), SerializationError, `bytes ${bytes.join(',')}`);
    }
  });

  test('random bytes only ever raise SerializationError', () => {
    let seed = 12345;
    const next = (): number => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) & 0xff;
    for (let round = 0; round < 2000; round++) {
      const bytes = Uint8Array.from({ length: 1 + (round % 40) }, next);
      try {
        msgpack.deserialize(bytes);
      } catch (error) {
        assert.ok(error instanceof SerializationError, `round ${round}: ${String(error)}`);
      }
    }
  });

  test('a __proto__ key is refused and never changes a prototype', () => {
    const proto = Buffer.from('__proto__');
    const bytes = Uint8Array.from([0x81, 0xa0 | proto.length, ...proto, 0x81, 0xa1, 0x78, 0x01]);
    assert.throws(() => msgpack.deserialize(bytes), /__proto__: a "__proto__" key is refused/);
    assert.equal(({} as Record<string, unknown>)['x'], undefined);
  });

  test('extension types outside the value model (Set, RegExp, undefined) are refused', () => {
    // fixext1 type 0 is msgpackr's undefined; fixext1 type 0x73 is its Set, wrapping the array that follows.
    assert.throws(() => msgpack.deserialize(Uint8Array.from([0x91, 0xd4, 0x00, 0x00])), /\[0\]: undefined is not data/);
    assert.throws(() => msgpack.deserialize(Uint8Array.from([0xd4, 0x73, 0x00, 0x91, 0x01])), /\(root\): an instance of Set is not supported/);
  });

  test('non-string map keys are refused', () => {
    assert.throws(() => msgpack.deserialize(Uint8Array.from([0x81, 0x01, 0x02])), /map key 1 is a number/);
  });

  test('integers beyond 2^53 are refused rather than rounded', () => {
    const bytes = Uint8Array.from([0xcf, 0x00, 0x40, 0, 0, 0, 0, 0, 1]);
    assert.throws(() => msgpack.deserialize(bytes), /outside the exactly representable range/);
  });

  test('decoded binary does not alias the input bytes', () => {
    const bytes = Uint8Array.from(msgpack.serialize({ b: new Uint8Array([9, 9, 9]) }));
    const decoded = msgpack.deserialize(bytes) as { b: Uint8Array };
    bytes.fill(0);
    assert.deepEqual(decoded.b, new Uint8Array([9, 9, 9]));
  });
});

describe('yaml decoding of hostile input', () => {
  const yaml = getSerializer('yaml');
  const decode = (text: string): unknown => yaml.deserialize(Buffer.from(text, 'utf8'));

  test('reads MCollective-style YAML with binary and timestamps', () => {
    assert.deepEqual(decode(':senderid: node1\nkey: !!binary aGVsbG8=\nat: 2026-11-24T07:00:00Z\nlist: [a, 1]\n'), {
      ':senderid': 'node1',
      key: new Uint8Array(Buffer.from('hello')),
      at: new Date('2026-11-24T07:00:00Z'),
      list: ['a', 1],
    });
  });

  for (const [what, text, message] of [
    ['a Ruby object tag', '--- !ruby/object:Gem::Installer\ni: x\n', /unknown mapping tag !<!ruby\/object:Gem::Installer>/],
    ['a js/function tag', 'f: !!js/function "function () {}"\n', /unknown scalar tag/],
    ['a !!set', 's: !!set {a: null}\n', /unknown mapping tag/],
    ['several documents', 'a: 1\n---\nb: 2\n', /single document/],
    ['an empty document', '', /input is empty/],
    ['a duplicate key', 'a: 1\na: 2\n', /duplicated mapping key/],
    ['a __proto__ key', '__proto__: {polluted: true}\n', /__proto__: a "__proto__" key is refused/],
  ] as const) {
    test(`refuses ${what}`, () => {
      assert.throws(() => decode(text), (error: unknown) => error instanceof SerializationError && message.test(error.message));
    });
  }

  test('refuses invalid UTF-8', () => {
    assert.throws(() => yaml.deserialize(Uint8Array.from([0x61, 0x3a, 0x20, 0xff, 0xfe])), /not valid UTF-8/);
  });

  test('refuses a billion-laughs alias bomb quickly', () => {
    const lines = ['l0: &l0 [x, x, x, x, x, x, x, x, x, x]'];
    for (let level = 1; level <= 9; level++) {
      lines.push(`l${level}: &l${level} [${Array.from({ length: 10 }, () => `*l${level - 1}`).join(', ')}]`);
    }
    assert.throws(() => decode(lines.join('\n')), /expands to more than \d+ values/);
  });

  test('accepts a few honest aliases', () => {
    assert.deepEqual(decode('base: &b {x: 1}\ncopy: *b\n'), { base: { x: 1 }, copy: { x: 1 } });
  });

  test('quotes strings a YAML 1.1 reader would take for booleans or numbers', () => {
    const text = Buffer.from(yaml.serialize({ a: 'yes', b: 'on', c: '010' })).toString('utf8');
    assert.match(text, /a: 'yes'/);
    assert.match(text, /b: 'on'/);
    assert.match(text, /c: '010'/);
  });
});

describe('getSerializer', () => {
  test('lists the supported serializers', () => {
    assert.deepEqual(serializerNames(), ['msgpack', 'yaml']);
    assert.equal(getSerializer('yaml').name, 'yaml');
    assert.equal(getSerializer('msgpack').name, 'msgpack');
  });

  test('marshal is refused as Ruby-only (protocol version 1 only) and the alternatives are named', () => {
    assert.throws(() => getSerializer('marshal'), (error: unknown) => {
      assert.ok(error instanceof SerializationError);
      assert.match(error.message, /Ruby-only/);
      assert.match(error.message, /only in protocol version 1 \(plugin\.aes\.legacy = 1/);
      assert.match(error.message, /msgpack, yaml/);
      return true;
    });
  });

  test('an unknown serializer names the known ones', () => {
    assert.throws(() => getSerializer('json'), (error: unknown) => {
      assert.ok(error instanceof UnknownPluginError);
      assert.equal(error.message, 'unknown serializer "json"; known: msgpack, yaml');
      return true;
    });
  });
});
