/**
 * The structural pre-scans of src/serializers: they agree with the decoders on honest documents, and refuse
 * adversarial ones (huge declared lengths, deep nesting, truncation, floods of values) by reading at most up to
 * the limit. Costs are asserted as counts of what the scanner did, never as times.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Packr } from 'msgpackr';
import { getSerializer, scanMsgpack, scanYaml, type StructureLimits } from '../../src/serializers/index.js';
import { SerializationError } from '../../src/errors.js';

const LIMITS: StructureLimits = { maxItems: 1000, maxDepth: 8 };
const packr = new Packr({ useRecords: false, moreTypes: false });
const msgpack = getSerializer('msgpack');
const yaml = getSerializer('yaml');

const honest = {
  action: 'run', data: { list: [1, -1, 300, -40000, 2 ** 40, 1.5, true, false, null, 'x'.repeat(300)], map: { nested: { deep: 'é' } } },
  bin: new Uint8Array(70000), when: new Date(0),
};

describe('msgpack pre-scan', () => {
  test('counts every value, map key and container of honest documents, and their nesting', () => {
    const verdict = scanMsgpack(msgpack.serialize(honest), LIMITS);
    // Counted exactly (27: each container, key and value), whatever widths the encoder chose.
    assert.deepEqual(verdict, { ok: true, items: countValues(honest), depth: 4 });
    assert.equal(countValues(honest), 27);
    for (const value of [null, 0, -1, 'text', [], {}, [[[]]], { a: [1, { b: 2 }] }, new Uint8Array(300), 'x'.repeat(70000)]) {
      const bytes = msgpack.serialize(value);
      assert.equal(scanMsgpack(bytes, LIMITS).ok, true, JSON.stringify(value));
      assert.doesNotThrow(() => msgpack.deserialize(bytes, LIMITS));
    }
  });

  test('counts exactly what the decoder builds, for random documents, and refuses any cut of them', () => {
    let seed = 7;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const value = (depth: number): unknown => {
      const kind = Math.floor(random() * (depth > 5 ? 4 : 6));
      if (kind === 0) return [0, -1, 127, 128, -33, 65536, 2 ** 33, -(2 ** 40), 1.25][Math.floor(random() * 9)];
      if (kind === 1) return 'x'.repeat(Math.floor(random() * 40000));
      if (kind === 2) return [null, true, false, new Uint8Array(Math.floor(random() * 300)), new Date(1_700_000_000_000)][Math.floor(random() * 5)];
      if (kind === 3) return random() < 0.5 ? [] : {};
      if (kind === 4) return Array.from({ length: Math.floor(random() * 6) }, () => value(depth + 1));
      return Object.fromEntries(Array.from({ length: Math.floor(random() * 6) }, (_, i) => [`k${i}`, value(depth + 1)]));
    };
    for (let i = 0; i < 200; i++) {
      const document = value(0);
      const bytes = msgpack.serialize(document);
      const verdict = scanMsgpack(bytes, { maxItems: 1_000_000, maxDepth: 64 });
      assert.ok(verdict.ok, verdict.ok ? '' : verdict.reason);
      assert.equal(verdict.items, countValues(msgpack.deserialize(bytes)));
      assert.equal(scanMsgpack(bytes.subarray(0, Math.floor(random() * bytes.length)), LIMITS).ok, false);
    }
  });

  test('a header declaring billions of entries is refused from its first bytes', () => {
    const array32 = Buffer.from([0xdd, 0xff, 0xff, 0xff, 0xff, 0x01]);
    assert.deepEqual(scanMsgpack(array32, LIMITS), { ok: false, kind: 'limit', reason: 'msgpack: a container at byte 5 declares 4294967295 values; more than 1000 in all' });
    assert.match(scanMsgpack(array32, { maxItems: 2 ** 40, maxDepth: 8 }).ok === false ? (scanMsgpack(array32, { maxItems: 2 ** 40, maxDepth: 8 }) as { reason: string }).reason : '', /declares 4294967295 values but only 1 bytes remain/);
    const map32 = Buffer.from([0xdf, 0x00, 0x12, 0x4f, 0x80]);
    assert.match((scanMsgpack(map32, LIMITS) as { reason: string }).reason, /declares 2400000 values/);
    const str32 = Buffer.from([0xdb, 0x7f, 0xff, 0xff, 0xff, 0x61]);
    assert.match((scanMsgpack(str32, LIMITS) as { kind: string; reason: string }).reason, /declares 2147483647 bytes but only 1 remain/);
  });

  test('a 1.2-million-key map stops at the limit: it is refused by its header', () => {
    const keys = 1_200_000;
    const parts: Buffer[] = [Buffer.from([0xdf, (keys >>> 24) & 0xff, (keys >>> 16) & 0xff, (keys >>> 8) & 0xff, keys & 0xff])];
    for (let i = 0; i < 1000; i++) parts.push(packr.pack(`k${i}`), packr.pack(i));
    const verdict = scanMsgpack(Buffer.concat(parts), { maxItems: 100_000, maxDepth: 64 });
    assert.deepEqual(verdict.ok ? null : verdict.kind, 'limit');
  });

  test('deep nesting is refused at the depth limit, before any decoder recursion', () => {
    const deep = Buffer.alloc(1_000_000, 0x91);
    assert.deepEqual(scanMsgpack(deep, LIMITS), { ok: false, kind: 'limit', reason: 'msgpack: nested deeper than 8 levels' });
    const nested = msgpack.serialize([[[[[[[[1]]]]]]]]);
    assert.equal(scanMsgpack(nested, LIMITS).ok, true);
    assert.equal(scanMsgpack(msgpack.serialize([[[[[[[[[1]]]]]]]]]), LIMITS).ok, false);
  });

  test('a flood of small values stops after maxItems of them', () => {
    const flood = Buffer.concat([Buffer.from([0xdc, 0xff, 0xff]), Buffer.alloc(65535, 0x01)]);
    assert.deepEqual(scanMsgpack(flood, { maxItems: 100_000, maxDepth: 8 }), { ok: true, items: 65536, depth: 1 });
    assert.equal(scanMsgpack(flood, LIMITS).ok, false);
  });

  test('truncation anywhere, trailing bytes and the unused type byte are malformed, never a crash', () => {
    const bytes = msgpack.serialize(honest);
    for (let cut = 0; cut < bytes.length; cut += 97) {
      const verdict = scanMsgpack(bytes.subarray(0, cut), LIMITS);
      assert.equal(verdict.ok, false, `cut at ${cut}`);
      if (!verdict.ok) assert.equal(verdict.kind, 'malformed');
    }
    assert.match((scanMsgpack(Buffer.concat([bytes, Buffer.from([0x00])]), LIMITS) as { reason: string }).reason, /1 bytes follow the document/);
    assert.match((scanMsgpack(Buffer.from([0x91, 0xc1]), LIMITS) as { reason: string }).reason, /byte 0xc1 at 1 is not a msgpack type/);
    assert.match((scanMsgpack(Buffer.from([0xcd, 0x01]), LIMITS) as { reason: string }).reason, /declares 2 bytes but only 1 remain/);
    assert.match((scanMsgpack(Buffer.from([0xc5, 0x01]), LIMITS) as { reason: string }).reason, /truncated inside the length/);
  });

  test('deserialize with limits refuses what passes them, flagged as a limit', () => {
    assert.throws(() => msgpack.deserialize(msgpack.serialize(Array.from({ length: 2000 }, (_, i) => i)), LIMITS),
      (error: unknown) => error instanceof SerializationError && error.limitExceeded);
    assert.throws(() => msgpack.deserialize(Buffer.from([0xc1])), (error: unknown) => error instanceof SerializationError && !error.limitExceeded);
  });
});

describe('yaml pre-scan', () => {
  test('the bound is never below the values js-yaml builds', () => {
    const documents = [
      'plain', '- - - a', '{a, b, c}', '[a: 1, b: 2]', '? a\n: b', '[? a : b]', '{"a":1,"b":[1,2,{"c":null}]}',
      'a:\n  b:\n    - 1\n    - {x: y}\n  c: |\n    text\n    more\n',
      '- a\n- b\n', 'a:\n- 1\n- 2\n', '- - a\n  - b\n- c', '-\n  a: 1\n-\n', '? a\n? b\n', '- ? a\n  : b\n', '- [a, {b: [c, d]}]\n',
    ];
    for (const text of documents) {
      const bytes = Buffer.from(text);
      const verdict = scanYaml(bytes, { maxItems: 10_000, maxDepth: 64 });
      assert.ok(verdict.ok);
      const counted = countValues(yaml.deserialize(bytes));
      assert.ok(verdict.items >= counted, `${JSON.stringify(text)}: bound ${verdict.items} < ${counted} values`);
    }
    const honestBytes = yaml.serialize(honest);
    const verdict = scanYaml(honestBytes, { maxItems: 10_000, maxDepth: 64 });
    assert.ok(verdict.ok && verdict.items >= countValues(yaml.deserialize(honestBytes)));
  });

  test('the bound holds for random documents as the yaml serializer writes them', () => {
    let seed = 42;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const value = (depth: number): unknown => {
      const kind = Math.floor(random() * (depth > 4 ? 3 : 6));
      if (kind === 0) return Math.floor(random() * 1000) - 500;
      if (kind === 1) return ['a', 'b: c', '- x', '? y', 'l1\nl2', '', 'null', '[x]'][Math.floor(random() * 8)];
      if (kind === 2) return random() < 0.5 ? null : true;
      if (kind === 3) return Array.from({ length: Math.floor(random() * 5) }, () => value(depth + 1));
      return Object.fromEntries(Array.from({ length: Math.floor(random() * 5) }, (_, i) => [`k${i}${random() < 0.2 ? ': x' : ''}`, value(depth + 1)]));
    };
    for (let i = 0; i < 300; i++) {
      const document = value(0);
      const bytes = yaml.serialize(document);
      const verdict = scanYaml(bytes, { maxItems: 1_000_000, maxDepth: 64 });
      assert.ok(verdict.ok && verdict.items >= countValues(yaml.deserialize(bytes)), Buffer.from(bytes).toString());
    }
  });

  test('thirty million list items are refused after reading up to the limit', () => {
    const item = Buffer.from('- 1\n');
    const huge = Buffer.alloc(item.length * 3_000_000);
    for (let i = 0; i < 3_000_000; i++) item.copy(huge, i * item.length);
    const verdict = scanYaml(huge, { maxItems: 100_000, maxDepth: 64 });
    assert.equal(verdict.ok, false);
    // It stopped once the bound passed the limit: the reason says how far it read.
    const read = Number(/the first (\d+) bytes/.exec((verdict as { reason: string }).reason)![1]);
    assert.ok(read < 100_000 * item.length, `read ${read} bytes`);
  });

  test('flow floods and deep nesting are refused; deep nesting by the parser at the depth limit', () => {
    assert.equal(scanYaml(Buffer.from(`[${'1,'.repeat(10_000)}1]`), LIMITS).ok, false);
    const deep = Buffer.from(`${'['.repeat(500)}${']'.repeat(500)}`);
    assert.equal(scanYaml(deep, { maxItems: 10_000, maxDepth: 8 }).ok, true, 'brackets alone are few values');
    assert.throws(() => yaml.deserialize(deep, { maxItems: 10_000, maxDepth: 8 }), (error: unknown) => error instanceof SerializationError && error.limitExceeded);
  });

  test('aliases cannot expand past maxItems', () => {
    const bomb = Buffer.from('a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n');
    assert.equal(scanYaml(bomb, LIMITS).ok, true, 'the text itself is small');
    assert.throws(() => yaml.deserialize(bomb, LIMITS), (error: unknown) => error instanceof SerializationError && error.limitExceeded);
  });
});

function countValues(value: unknown): number {
  if (Array.isArray(value)) return 1 + value.reduce((sum: number, item) => sum + countValues(item), 0);
  if (value !== null && typeof value === 'object' && !(value instanceof Uint8Array) && !(value instanceof Date)) {
    return 1 + Object.values(value).reduce((sum: number, item) => sum + 1 + countValues(item), 0);
  }
  return 1;
}
