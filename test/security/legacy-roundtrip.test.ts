/**
 * Protocol version 1, encoding: requests and replies built here decode back (YAML and Marshal), and their bytes have
 * the shape Ruby writes (Psych's `---`, `:symbol:` keys, `|` blocks of 60-character base64 lines; Marshal 4.8).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidArgumentError } from '../../src/errors.js';
import {
  DISCOVERY_PING, DISCOVERY_PONG, RubyHash, decodeV1Reply, decodeV1Request, deserializeV1, encodeV1Reply, encodeV1Request,
  inspect, parseRpcReply, serializeV1, parseRpcRequest, rpcReplyBody, rpcRequestBody, rubyEqual, sym, symHash,
  type RubyValue, type V1Filter, type V1Serializer,
} from '../../plugins/security/aes_security/v1/index.js';
import { CAPTURE_CLOCK_MS, KEYS, SERIALIZERS, callerKeys } from './legacy-fixtures.js';

const FILTER: V1Filter = {
  fact: [{ fact: 'country', value: 'uk', operator: '==' }, { fact: 'os.family', value: '/deb/', operator: '=~' }],
  cf_class: ['web'], agent: ['rpcutil'], identity: ['/^web/'], compound: [[{ statement: 'country=uk' }, { and: 'and' }]],
};
const clock = () => CAPTURE_CLOCK_MS;
let sequence = 0;
const nextId = () => (++sequence).toString(16).padStart(32, '0');

function request(serializer: V1Serializer, body: RubyValue, extra: { filter?: V1Filter; pem?: string; msgtime?: number } = {}) {
  const requestid = nextId();
  const wire = encodeV1Request(
    { requestid, senderid: 'ts-client.example', callerid: 'cert=alice', agent: 'rpcutil', collective: 'interop', filter: extra.filter ?? FILTER, ttl: 60, body, ...(extra.msgtime === undefined ? {} : { msgtime: extra.msgtime }) },
    { clientPrivateKey: KEYS.alicePrivate, serializer, now: clock, ...(extra.pem === undefined ? {} : { clientPublicPem: extra.pem }) },
  );
  return { requestid, wire };
}

const decodeRequest = (wire: Buffer) => decodeV1Request(wire, { resolveCallerKey: callerKeys, now: clock });
const reply = (serializer: V1Serializer, requestid: string, body: RubyValue) =>
  encodeV1Reply({ requestid, senderid: 'ts-server.example', senderagent: 'rpcutil', body }, { callerPublicKey: KEYS.alicePublic, serializer, now: clock });
const decodeReply = (wire: Buffer, requestid: string) =>
  decodeV1Reply(wire, { clientPrivateKey: KEYS.alicePrivate, isOutstanding: (id) => id === requestid });

const BODIES: Record<string, RubyValue> = {
  'RPC request': rpcRequestBody({ agent: 'rpcutil', action: 'get_fact', caller: 'cert=alice', data: { fact: 'os', note: 'x'.repeat(200) }, processResults: true }),
  'discovery ping': DISCOVERY_PING,
  'every kind of value': symHash({
    nil: null, yes: true, no: false, int: -42, big: 2n ** 70n, float: 1.25, inf: -Infinity, str: 'yes', colon: ':not a symbol', symbol: sym('a symbol'),
    binary: Uint8Array.from([0, 255, 128]), list: [[], [1, [2]], new RubyHash()], strings: new RubyHash([['k', 1], [7, 'seven'], [null, 'nil key']]),
    text: 'line one\nline two\n', unicode: 'été 😀 \u2028', quote: "it's \"quoted\"",
  }),
};

for (const serializer of SERIALIZERS) {
  for (const [name, body] of Object.entries(BODIES)) {
    test(`${serializer}: a request with ${name} decodes back to every field`, () => {
      const { requestid, wire } = request(serializer, body, { pem: KEYS.alicePem });
      const decoded = decodeRequest(wire);
      assert.equal(decoded.serializer, serializer);
      assert.equal(decoded.requestid, requestid);
      assert.equal(decoded.senderid, 'ts-client.example');
      assert.equal(decoded.callerid, 'cert=alice');
      assert.equal(decoded.agent, 'rpcutil');
      assert.equal(decoded.collective, 'interop');
      assert.equal(decoded.ttl, 60);
      assert.equal(decoded.msgtime, Math.floor(CAPTURE_CLOCK_MS / 1000));
      assert.deepEqual(decoded.filter, FILTER);
      assert.equal(decoded.sslpubkey, KEYS.alicePem);
      assert.ok(rubyEqual(decoded.body, body), `${inspect(decoded.body)} != ${inspect(body)}`);
    });

    test(`${serializer}: a reply with ${name} decodes back`, () => {
      const requestid = nextId();
      const decoded = decodeReply(reply(serializer, requestid, body), requestid);
      assert.equal(decoded.serializer, serializer);
      assert.equal(decoded.senderid, 'ts-server.example');
      assert.equal(decoded.senderagent, 'rpcutil');
      assert.equal(decoded.senderProof, 'unsigned');
      assert.ok(rubyEqual(decoded.body, body), `${inspect(decoded.body)} != ${inspect(body)}`);
    });
  }

  test(`${serializer}: Symbols and Strings stay apart through a round trip`, () => {
    const body = new RubyHash([[sym('a'), ':a'], ['a', sym('a')], [sym(':b'), 'b'], ['yes', 'no'], ['1', 1]]);
    const decoded = decodeRequest(request(serializer, body).wire).body as RubyHash;
    assert.equal(decoded.size, 5);
    assert.equal(decoded.get(sym('a')), ':a');
    assert.ok(rubyEqual(decoded.get('a')!, sym('a')));
    assert.equal(decoded.get(sym(':b')), 'b');
    assert.equal(decoded.get('yes'), 'no');
    assert.equal(decoded.get('1'), 1);
  });

  test(`${serializer}: RPC bodies read back as the rpc layer's shapes`, () => {
    const wire = request(serializer, rpcRequestBody({ agent: 'rpcutil', action: 'echo', caller: 'cert=alice', data: { msg: 'hi', n: 3 }, processResults: false })).wire;
    assert.deepEqual(parseRpcRequest(decodeRequest(wire).body), { agent: 'rpcutil', action: 'echo', caller: 'cert=alice', data: { msg: 'hi', n: 3 }, processResults: false });
    const requestid = nextId();
    const out = decodeReply(reply(serializer, requestid, rpcReplyBody({ statuscode: 4, statusmsg: 'bad input', data: { field: 'msg' } })), requestid);
    assert.deepEqual(parseRpcReply(out.body), { statuscode: 4, statusmsg: 'bad input', data: { field: 'msg' } });
    assert.equal(decodeReply(reply(serializer, requestid, DISCOVERY_PONG), requestid).body, 'pong');
  });

  test(`${serializer}: the discovery filter carries the collective entry, and the fact entries have Symbol keys`, () => {
    const { wire } = request(serializer, DISCOVERY_PING, { filter: { ...FILTER, compound: [], collective: 'interop' } });
    const outer = deserializeV1(wire, serializer) as RubyHash;
    const filter = outer.getSym('filter') as RubyHash;
    assert.deepEqual(filter.keys(), ['fact', 'cf_class', 'agent', 'identity', 'compound', 'collective']);
    assert.equal(inspect((filter.get('fact') as RubyValue[])[0]!), '{:fact=>"country", :value=>"uk", :operator=>"=="}');
    assert.equal(decodeRequest(wire).filter.collective, 'interop');
  });

  test(`${serializer}: the outer hash has Ruby's keys in Ruby's order, :sslpubkey only when asked`, () => {
    const plain = deserializeV1(request(serializer, 'ping').wire, serializer) as RubyHash;
    assert.deepEqual(plain.keys().map(String), [':body', ':senderid', ':requestid', ':filter', ':collective', ':agent', ':callerid', ':ttl', ':msgtime', ':sslkey']);
    const withKey = deserializeV1(request(serializer, 'ping', { pem: KEYS.alicePem }).wire, serializer) as RubyHash;
    assert.equal(withKey.getSym('sslpubkey'), KEYS.alicePem);
    const answer = deserializeV1(reply(serializer, nextId(), 'pong'), serializer) as RubyHash;
    assert.deepEqual(answer.keys().map(String), [':senderid', ':requestid', ':senderagent', ':msgtime', ':body', ':sslkey']);
  });
}

test('yaml: the bytes follow Psych: ---, plain :symbol: keys, | blocks of 60-character base64 lines', () => {
  const text = request('yaml', 'x'.repeat(500), { pem: KEYS.alicePem, msgtime: 1796027192 }).wire.toString('utf8');
  assert.ok(text.startsWith('---\n:body: |\n  '), text.slice(0, 40));
  for (const key of ['senderid', 'requestid', 'filter', 'collective', 'agent', 'callerid', 'ttl', 'msgtime', 'sslkey', 'sslpubkey']) {
    assert.match(text, new RegExp(`^:${key}:`, 'm'), key);
  }
  assert.match(text, /^:ttl: 60$/m);
  assert.match(text, /^:msgtime: 1796027192$/m);
  assert.match(text, /^:callerid: cert=alice$/m);
  assert.match(text, /^:filter:\n {2}fact:\n {2}- :fact: country\n {4}:value: uk\n {4}:operator: "=="\n/m);
  assert.match(text, /^:sslkey: \|\n( {2}[A-Za-z0-9+/=]{1,60}\n)+:sslpubkey: \|\n {2}-----BEGIN PUBLIC KEY-----\n/m);
  const body = /^:body: \|\n((?: {2}.*\n)+)/m.exec(text)![1]!.split('\n').slice(0, -1);
  assert.ok(body.length > 10);
  for (const [i, line] of body.entries()) assert.ok(i === body.length - 1 ? line.length <= 62 : line.length === 62, `line ${i}: ${line.length}`);
  assert.ok(text.endsWith('-----END PUBLIC KEY-----\n'));
});

test('yaml: a String that looks like a Symbol, a number or a boolean is quoted as Psych quotes it', () => {
  const text = serializeV1(symHash({ s: ':x', n: '60', b: 'yes', t: 'cert=alice', symbol: sym('x'), int: 60, bool: true, none: null }), 'yaml').toString('utf8');
  assert.equal(text, '---\n:s: ":x"\n:n: \'60\'\n:b: \'yes\'\n:t: cert=alice\n:symbol: :x\n:int: 60\n:bool: true\n:none:\n');
});

test('marshal: the bytes are Marshal 4.8 with Symbol keys', () => {
  const wire = request('marshal', 'ping').wire;
  assert.deepEqual([...wire.subarray(0, 3)], [0x04, 0x08, 0x7b]);
  assert.equal(wire.subarray(3, 10).toString('latin1'), '\x0f:\tbody');
});

test('encoding refuses what Ruby could not read back the same', () => {
  assert.throws(() => request('yaml', 'bad \ud800 surrogate'), InvalidArgumentError);
  assert.throws(() => request('marshal', 'bad \udfff surrogate'), InvalidArgumentError);
  assert.throws(() => encodeV1Request({ requestid: 'not-hex', senderid: 'a', callerid: 'cert=alice', agent: 'rpcutil', collective: 'c', filter: FILTER, ttl: 60, body: null },
    { clientPrivateKey: KEYS.alicePrivate, serializer: 'yaml' }), /requestid/);
  const cycle: RubyValue[] = [];
  cycle.push(cycle);
  assert.throws(() => request('marshal', cycle), /deeper than/);
  assert.throws(() => request('yaml', cycle), /deeper than/);
});
