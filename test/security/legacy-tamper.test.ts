/**
 * Protocol version 1 under attack: every change version 1 can detect is refused with the error that names it, and
 * hostile structure (types Ruby objects would need, oversize, deep or expanding documents) is refused before it
 * costs more than its size.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { BadSignatureError, ExpiredError, MalformedMessageError, NotAddressedToUsError, UnknownSenderError } from '../../src/errors.js';
import {
  DEFAULT_V1_LIMITS, RubyHash, decodeV1Reply, decodeV1Request, deserializeV1, encodeV1Reply, encodeV1Request, serializeV1, sym,
  type RubyValue, type V1Serializer,
} from '../../plugins/security/aes_security/v1/index.js';
import { readMarshal } from '../../plugins/security/aes_security/v1/marshal.js';
import { loadYaml } from '../../plugins/security/aes_security/v1/yaml-load.js';
import { CAPTURE_CLOCK_MS, KEYS, SERIALIZERS, callerKeys, frame } from './legacy-fixtures.js';

const clock = () => CAPTURE_CLOCK_MS;
const LIMITS = { maxBytes: 64 * 1024, maxItems: 1000, maxDepth: 16 };
const FILTER = { fact: [], cf_class: [], agent: ['rpcutil'], identity: [], compound: [] };

function request(serializer: V1Serializer, body: RubyValue = 'ping', ttl = 60): Buffer {
  return encodeV1Request({ requestid: 'ab'.repeat(16), senderid: 'client1', callerid: 'cert=alice', agent: 'rpcutil', collective: 'interop', filter: FILTER, ttl, body },
    { clientPrivateKey: KEYS.alicePrivate, serializer, now: clock });
}
const decode = (wire: Uint8Array, extra: { enforceTtl?: boolean } = {}) =>
  decodeV1Request(wire, { resolveCallerKey: callerKeys, now: clock, limits: LIMITS, ...extra });

/** Decodes the outer hash, lets `edit` change it, encodes it again in the same serializer. */
function edited(serializer: V1Serializer, wire: Buffer, edit: (outer: RubyHash) => void): Buffer {
  const outer = deserializeV1(wire, serializer) as RubyHash;
  edit(outer);
  return serializeV1(outer, serializer);
}

const refusedWith = (error: new (...args: never[]) => Error, pattern: RegExp) => (e: unknown) => e instanceof error && pattern.test((e as Error).message);

for (const serializer of SERIALIZERS) {
  test(`${serializer}: a changed :ttl or :msgtime is tampering (BadSignatureError), or a warning with enforceTtl off`, () => {
    const wire = request(serializer);
    const longer = edited(serializer, wire, (o) => o.set(sym('ttl'), 3600));
    assert.throws(() => decode(longer), refusedWith(BadSignatureError, /:ttl 3600 does not match the encrypted ttl 60 \(tampering\)/));
    const earlier = edited(serializer, wire, (o) => o.set(sym('msgtime'), (o.getSym('msgtime') as number) - 1));
    assert.throws(() => decode(earlier), refusedWith(BadSignatureError, /:msgtime .* does not match the encrypted msgtime/));
    const warned = decode(longer, { enforceTtl: false });
    assert.equal(warned.ttl, 60, 'the encrypted value wins, as in Ruby');
    assert.match(warned.warnings.join('\n'), /tampering\) \(accepted: enforce_ttl = 0\)/);
  });

  test(`${serializer}: a replayed old request is expired even if its clear :msgtime is moved forward`, () => {
    const old = encodeV1Request({ requestid: 'cd'.repeat(16), senderid: 'c', callerid: 'cert=alice', agent: 'rpcutil', collective: 'interop', filter: FILTER, ttl: 60, body: 'ping' },
      { clientPrivateKey: KEYS.alicePrivate, serializer, now: () => CAPTURE_CLOCK_MS - 3600_000 });
    assert.throws(() => decode(old), ExpiredError);
    const refreshed = edited(serializer, old, (o) => o.set(sym('msgtime'), Math.floor(CAPTURE_CLOCK_MS / 1000)));
    assert.throws(() => decode(refreshed), BadSignatureError);
  });

  test(`${serializer}: another caller's name, key or pass does not open the request`, () => {
    const wire = request(serializer);
    const asServer = edited(serializer, wire, (o) => o.set(sym('callerid'), 'cert=server'));
    assert.throws(() => decode(asServer), refusedWith(BadSignatureError, /does not open with cert=server/));
    const stranger = edited(serializer, wire, (o) => o.set(sym('callerid'), 'cert=mallory'));
    assert.throws(() => decode(stranger), UnknownSenderError);
    const other = deserializeV1(request(serializer), serializer) as RubyHash;
    const swapped = edited(serializer, wire, (o) => o.set(sym('sslkey'), other.getSym('sslkey')!));
    assert.throws(() => decode(swapped), refusedWith(BadSignatureError, /does not decrypt/));
  });

  test(`${serializer}: truncated or garbled base64 is malformed; a changed ciphertext does not decrypt`, () => {
    const wire = request(serializer, 'x'.repeat(300));
    const body = (deserializeV1(wire, serializer) as RubyHash).getSym('body') as string;
    const truncated = edited(serializer, wire, (o) => o.set(sym('body'), body.slice(0, -3)));
    assert.throws(() => decode(truncated), refusedWith(MalformedMessageError, /:body is not valid base64/));
    const garbled = edited(serializer, wire, (o) => o.set(sym('body'), `${body.slice(0, 10)}*${body.slice(11)}`));
    assert.throws(() => decode(garbled), refusedWith(MalformedMessageError, /:body is not base64/));
    const sslkey = (deserializeV1(wire, serializer) as RubyHash).getSym('sslkey') as string;
    assert.throws(() => decode(edited(serializer, wire, (o) => o.set(sym('sslkey'), sslkey.slice(0, 40)))), refusedWith(BadSignatureError, /sslkey is 30 bytes/));
    // A whole block dropped from the end: the padding of what remains is checked (one case in 256 slips through
    // to the deserializer, which refuses the cut document).
    const shorter = edited(serializer, wire, (o) => o.set(sym('body'), Buffer.from(Buffer.from(body, 'base64').subarray(0, -16)).toString('base64')));
    assert.throws(() => decode(shorter), (e: unknown) => e instanceof BadSignatureError || e instanceof MalformedMessageError);
  });

  test(`${serializer}: unknown, missing and mistyped outer fields are malformed`, () => {
    const wire = request(serializer);
    assert.throws(() => decode(edited(serializer, wire, (o) => o.set(sym('hash'), 'x'))), refusedWith(MalformedMessageError, /unexpected key :hash/));
    assert.throws(() => decode(edited(serializer, wire, (o) => o.set('ttl', 60))), refusedWith(MalformedMessageError, /unexpected key "ttl"/));
    const noTtl = serializeV1(new RubyHash((deserializeV1(wire, serializer) as RubyHash).entries().filter(([k]) => String(k) !== ':ttl')), serializer);
    assert.throws(() => decode(noTtl), refusedWith(MalformedMessageError, /:ttl is missing/));
    assert.throws(() => decode(edited(serializer, wire, (o) => o.set(sym('ttl'), '60'))), refusedWith(MalformedMessageError, /:ttl must be an Integer/));
    assert.throws(() => decode(edited(serializer, wire, (o) => o.set(sym('agent'), '../etc'))), refusedWith(MalformedMessageError, /:agent is not a valid agent/));
    assert.throws(() => decode(edited(serializer, wire, (o) => o.set(sym('filter'), new RubyHash([['fact', [new RubyHash([['fact', 'a']])]]])))), refusedWith(MalformedMessageError, /"fact" entry must be/));
    assert.throws(() => decode(edited(serializer, wire, (o) => o.set(sym('filter'), new RubyHash([['evil', []]])))), refusedWith(MalformedMessageError, /unexpected key "evil"/));
    assert.throws(() => decode(serializeV1(['not', 'a', 'hash'], serializer)), refusedWith(MalformedMessageError, /not a Hash/));
  });

  test(`${serializer}: an encrypted part that is not {:aes_msg, :aes_ttl, :aes_msgtime} is refused`, () => {
    // Build a request whose encrypted part is a bare String, as pre-2.x senders did (Ruby refuses it unless enforce_ttl = 0).
    const wire = request(serializer, 'ping');
    assert.equal(decode(wire).body, 'ping');
    const reply = encodeV1Reply({ requestid: 'ab'.repeat(16), senderid: 's', senderagent: 'rpcutil', body: 'pong' }, { callerPublicKey: KEYS.alicePublic, serializer });
    assert.throws(() => decode(reply), MalformedMessageError);
  });

  test(`${serializer}: a reply for no outstanding request costs no RSA work and is refused`, () => {
    const wire = encodeV1Reply({ requestid: 'ef'.repeat(16), senderid: 's', senderagent: 'rpcutil', body: 'pong' }, { callerPublicKey: KEYS.alicePublic, serializer });
    assert.throws(() => decodeV1Reply(wire, { clientPrivateKey: KEYS.alicePrivate, isOutstanding: () => false }), NotAddressedToUsError);
    const body = (deserializeV1(wire, serializer) as RubyHash).getSym('body') as string;
    const changed = edited(serializer, wire, (o) => o.set(sym('body'), Buffer.from(Buffer.from(body, 'base64').map((b, i) => (i === 0 ? b ^ 1 : b))).toString('base64')));
    // CBC: a change in the first block garbles only that block of a 16-byte body... and its padding: refused.
    assert.throws(() => decodeV1Reply(changed, { clientPrivateKey: KEYS.alicePrivate, isOutstanding: () => true }), BadSignatureError);
  });
}

const marshal = (hex: string) => Buffer.from(`0408${hex.replace(/\s/g, '')}`, 'hex');
const refuseMarshal = (hex: string, pattern: RegExp) => assert.throws(() => readMarshal(marshal(hex), LIMITS), refusedWith(MalformedMessageError, pattern), hex);

test('Marshal: every type beyond nil, booleans, numbers, String, Symbol, Array and Hash is refused', () => {
  refuseMarshal('6f 3a 0b 4f626a656374 00', /Object is not allowed/); // Object.new
  refuseMarshal('2f 22 06 78 00', /Regexp is not allowed/); // /x/
  refuseMarshal('7d 00 69 06', /Hash with a default value/);
  refuseMarshal('75 3a 08 466f6f 22 06 78', /user-defined type/);
  refuseMarshal('55 3a 08 466f6f 30', /user-marshalled/);
  refuseMarshal('53 3a 06 53 00', /Struct is not allowed/);
  refuseMarshal('65 3a 06 4d 5b 00', /extended object/);
  refuseMarshal('43 3a 06 43 5b 00', /user subclass/);
  refuseMarshal('63 08 466f6f', /Class is not allowed/);
  refuseMarshal('49 5b 00 06 3a 06 45 54', /only allowed on a String or Symbol/);
  refuseMarshal('49 22 06 78 06 3a 0d 656e636f64696e67 22 09 53 4a 49 53', /encoding "encoding" is not allowed/);
  refuseMarshal('49 22 06 ff 06 3a 06 45 54', /not valid UTF-8/);
  refuseMarshal('49 22 06 80 06 3a 06 45 46', /US-ASCII String holds a byte/);
});

test('Marshal: links only to finished objects; no cycles, no dangling links, no trailing bytes', () => {
  assert.deepEqual(readMarshal(marshal('5b 07 49 22 06 61 06 3a 06 45 54 40 06'), LIMITS), ['a', 'a']);
  refuseMarshal('5b 06 40 00', /unfinished Array or Hash \(a cycle\)/);
  refuseMarshal('5b 06 40 09', /points at no object/);
  refuseMarshal('5b 06 3b 00', /points at no Symbol/);
  refuseMarshal('30 30', /trailing bytes/);
  refuseMarshal('69 02 01', /truncated integer/);
  refuseMarshal('5b 07 30', /Array length 2 exceeds the remaining 1 bytes/);
});

test('Marshal: sizes are checked against the bytes left before anything is allocated', () => {
  refuseMarshal('5b 04 ff ff ff 3f', /Array length 1073741823 exceeds the remaining 0 bytes/);
  refuseMarshal('7b 04 ff ff ff 3f', /Hash size .* exceeds/);
  refuseMarshal('22 04 ff ff ff 7f', /length .* exceeds/);
  refuseMarshal('6c 2b 7f' + '00'.repeat(244), /Bignum of 244 bytes is over 64/);
  refuseMarshal('5b fa', /Array length -1/);
  assert.throws(() => readMarshal(Buffer.alloc(LIMITS.maxBytes + 1, 0x30), LIMITS), /over the 65536-byte limit/);
});

test('Marshal and YAML: nesting and value counts are bounded, link expansion included', () => {
  const deep = (n: number): RubyValue => (n === 0 ? 1 : [deep(n - 1)]);
  for (const serializer of SERIALIZERS) {
    assert.doesNotThrow(() => deserializeV1(serializeV1(deep(16), serializer), serializer, LIMITS));
    assert.throws(() => deserializeV1(serializeV1(deep(17), serializer), serializer, LIMITS), /nested deeper than 16/);
    assert.throws(() => deserializeV1(serializeV1(Array.from({ length: 1001 }, () => 0), serializer), serializer, LIMITS), /more than 1000 values/);
  }
  // A 100-element Array linked 20 times: 37 bytes on the wire, over 2000 values once expanded.
  const bomb = marshal(`5b 07 5b 01 64 ${'30 '.repeat(100)} 5b 19 ${'40 06 '.repeat(20)}`);
  assert.throws(() => readMarshal(bomb, LIMITS), /more than 1000 values/);
});

test('YAML: Ruby object tags, aliases and oversize documents are refused before use', () => {
  const refuse = (text: string, pattern: RegExp) => assert.throws(() => loadYaml(Buffer.from(text), LIMITS), refusedWith(MalformedMessageError, pattern), text);
  refuse("--- !ruby/object:Gem::Installer\ni: x\n", /unknown|tag/);
  refuse('--- !ruby/hash-with-ivars\nelements: {}\n', /unknown|tag/);
  refuse('--- !ruby/exception\nmessage: x\n', /unknown|tag/);
  refuse(`---\na: &a [1,2,3]\nb: [*a, *a]\n`, /alias/i);
  refuse(`--- ${'x'.repeat(LIMITS.maxBytes)}\n`, /over the 65536-byte limit/);
  const tagged = Buffer.from(frame('yaml', 'request-rpcutil-ping').toString('utf8').replace(':ttl: 60', ':ttl: !ruby/object:Foo 60'));
  assert.throws(() => decode(tagged), refusedWith(MalformedMessageError, /unknown scalar tag/));
});

test('a frame with its Marshal header or YAML start damaged is not taken for version 1', () => {
  const wire = Buffer.from(frame('marshal', 'request-rpcutil-ping'));
  wire[1] = 0x09;
  assert.throws(() => decode(wire), refusedWith(MalformedMessageError, /neither Marshal .* nor YAML/));
  assert.throws(() => decode(Buffer.from('--')), MalformedMessageError);
});

test('a reply to a request not outstanding is refused before the client key is touched', () => {
  const wire = encodeV1Reply({ requestid: 'ef'.repeat(16), senderid: 's', senderagent: 'rpcutil', body: 'pong' }, { callerPublicKey: KEYS.alicePublic, serializer: 'marshal' });
  // An X25519 key would make any RSA step fail with "needs an RSA key": the refusal must come first.
  const notRsa = generateKeyPairSync('x25519').privateKey;
  assert.throws(() => decodeV1Reply(wire, { clientPrivateKey: notRsa, isOutstanding: () => false }), NotAddressedToUsError);
  assert.throws(() => decodeV1Reply(wire, { clientPrivateKey: notRsa, isOutstanding: () => true }), /RSA key/);
});

test('every way a reply fails to open is the same error with the same message', () => {
  const wire = encodeV1Reply({ requestid: 'ef'.repeat(16), senderid: 's', senderagent: 'rpcutil', body: 'pong' }, { callerPublicKey: KEYS.alicePublic, serializer: 'marshal' });
  const outer = deserializeV1(wire, 'marshal') as RubyHash;
  const body = Buffer.from(outer.getSym('body') as string, 'base64');
  const variants = {
    'random key block': edited('marshal', wire, (o) => o.set(sym('sslkey'), randomBytes(256).toString('base64'))),
    'key block for someone else': edited('marshal', wire, (o) => o.set(sym('sslkey'), (deserializeV1(encodeV1Reply({ requestid: 'ef'.repeat(16), senderid: 's', senderagent: 'rpcutil', body: 'pong' }, { callerPublicKey: KEYS.serverPublic, serializer: 'marshal' }), 'marshal') as RubyHash).getSym('sslkey')!)),
    'altered body': edited('marshal', wire, (o) => o.set(sym('body'), Buffer.concat([body, randomBytes(16)]).toString('base64'))),
  };
  const messages = new Set<string>();
  for (const [name, variant] of Object.entries(variants)) {
    assert.throws(() => decodeV1Reply(variant, { clientPrivateKey: KEYS.alicePrivate, isOutstanding: () => true }), (e: unknown) => {
      assert.ok(e instanceof BadSignatureError, name);
      assert.equal((e as Error & { cause?: unknown }).cause, undefined, `${name}: no cause that would tell the failures apart`);
      messages.add((e as Error).message);
      return true;
    });
  }
  assert.equal(messages.size, 1, [...messages].join(' | '));
});

test('precheck refuses a request before its body is decrypted or deserialized', () => {
  const wire = request('yaml', 'ping');
  const garbage = edited('yaml', wire, (o) => o.set(sym('body'), randomBytes(64).toString('base64')));
  assert.throws(() => decode(garbage), BadSignatureError);
  const stop = new UnknownSenderError('precheck said no');
  assert.throws(() => decodeV1Request(garbage, { resolveCallerKey: callerKeys, now: clock, precheck: () => { throw stop; } }), (e) => e === stop);
});

test('U+2028 and U+2029 are written escaped, never raw, so both YAML versions read them alike', () => {
  const text = serializeV1(['a\u2028b', 'c\u2029d\n'], 'yaml').toString('utf8');
  assert.equal(text, '---\n- "a\\Lb"\n- "c\\Pd\\n"\n');
  assert.deepEqual(loadYaml(Buffer.from(text), LIMITS), ['a\u2028b', 'c\u2029d\n']);
});

test('the documented default limits', () => {
  assert.deepEqual({ ...DEFAULT_V1_LIMITS }, { maxBytes: 4 * 1024 * 1024, maxItems: 200_000, maxDepth: 64 });
});
