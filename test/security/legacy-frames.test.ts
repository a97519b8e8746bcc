/**
 * Protocol version 1 against frames captured from the real MCollective 2.13 (test/fixtures/interop): every request
 * and reply, YAML and Marshal, decodes to what Ruby itself decoded (decoded.txt), under a fixed clock.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  BadSignatureError, ExpiredError, FutureDatedError, NotAddressedToUsError, UnknownSenderError,
} from '../../src/errors.js';
import {
  DEFAULT_V1_LIMITS, decodeV1Reply, decodeV1Request, deserializeV1, inspect, looksLikeV1, parseRpcReply, parseRpcRequest, serializeV1,
  symHash, type RubyValue, type V1DecodedRequest,
} from '../../plugins/security/aes_security/v1/index.js';
import { filterToRuby } from '../../plugins/security/aes_security/v1/fields.js';
import { encode64, decode64 } from '../../plugins/security/aes_security/v1/crypto.js';
import { emitYaml } from '../../plugins/security/aes_security/v1/yaml-emit.js';
import { CAPTURE_CLOCK_MS, FRAMES, KEYS, SERIALIZERS, callerKeys, frame, rubyDecoding } from './legacy-fixtures.js';

const decodeRequest = (wire: Buffer, clockMs = CAPTURE_CLOCK_MS): V1DecodedRequest =>
  decodeV1Request(wire, { resolveCallerKey: callerKeys, now: () => clockMs, clockSkewSeconds: 10 });
const decodeReply = (wire: Buffer) => decodeV1Reply(wire, { clientPrivateKey: KEYS.alicePrivate, isOutstanding: () => true });

/** The decoded message as Ruby's decodemsg returns it, less :sslkey and :sslpubkey (as decoded.txt prints it). */
function asRubyPrints(name: string, wire: Buffer): string {
  if (name.startsWith('request')) {
    const r = decodeRequest(wire);
    return inspect(symHash({
      body: r.body, senderid: r.senderid, requestid: r.requestid, filter: filterToRuby(r.filter), collective: r.collective,
      agent: r.agent, callerid: r.callerid, ttl: r.ttl, msgtime: r.msgtime,
    }));
  }
  const r = decodeReply(wire);
  return inspect(symHash({ senderid: r.senderid, requestid: r.requestid, senderagent: r.senderagent, msgtime: r.msgtime, body: r.body }));
}

for (const serializer of SERIALIZERS) {
  const ruby = rubyDecoding(serializer);

  test(`${serializer}: decoded.txt covers every captured frame`, () => {
    assert.deepEqual([...ruby.keys()].sort(), [...FRAMES].sort());
  });

  for (const name of FRAMES) {
    test(`${serializer} ${name}: decodes to exactly what Ruby decoded`, () => {
      const wire = frame(serializer, name);
      const expected = ruby.get(name)!;
      assert.equal(wire.length, expected.bytes);
      assert.equal(looksLikeV1(wire), serializer);
      assert.equal(asRubyPrints(name, wire), expected.inspect);
    });
  }

  test(`${serializer}: the outer hash re-serializes to what Ruby reads the same`, () => {
    for (const name of FRAMES) {
      const wire = frame(serializer, name);
      const outer = deserializeV1(wire, serializer);
      const again = serializeV1(outer, serializer);
      // Psych output is reproduced byte for byte; Marshal differs only in string encodings and links, not in value.
      if (serializer === 'yaml') assert.ok(emitYaml(outer).equals(wire), `${name}: YAML re-emitted byte for byte`);
      assert.equal(inspect(deserializeV1(again, serializer)), inspect(outer), name);
    }
  });

  test(`${serializer}: base64 fields are Ruby's Base64.encode64 layout, reproduced exactly`, () => {
    for (const name of FRAMES) {
      const outer = deserializeV1(frame(serializer, name), serializer) as ReturnType<typeof symHash>;
      for (const field of ['body', 'sslkey']) {
        const text = outer.getSym(field) as string;
        assert.equal(encode64(decode64(text, field)), text, `${name} :${field}`);
        for (const line of text.split('\n').slice(0, -1)) assert.ok(line.length <= 60, `${name} :${field} line of ${line.length}`);
      }
    }
  });

  test(`${serializer}: the RPC bodies read as MCollective's rpc layer writes them`, () => {
    const request = parseRpcRequest(decodeRequest(frame(serializer, 'request-rpcutil-ping')).body);
    assert.deepEqual(request, { agent: 'rpcutil', action: 'ping', caller: 'cert=alice', data: {}, processResults: true });
    const reply = parseRpcReply(decodeReply(frame(serializer, 'reply-rpcutil-ping')).body);
    assert.equal(reply.statuscode, 0);
    assert.equal(reply.statusmsg, 'OK');
    assert.equal(typeof reply.data.pong, 'number');
    assert.equal(decodeRequest(frame(serializer, 'request-discovery-ping')).body, 'ping');
    assert.equal(decodeReply(frame(serializer, 'reply-discovery-pong')).body, 'pong');
  });

  test(`${serializer}: requests carry the sender's public key and the discovery filter's extra collective`, () => {
    const discovery = decodeRequest(frame(serializer, 'request-discovery-ping'));
    assert.equal(discovery.sslpubkey, KEYS.alicePem);
    assert.equal(discovery.filter.collective, 'interop');
    assert.equal(decodeRequest(frame(serializer, 'request-rpcutil-ping')).filter.collective, undefined);
    assert.equal(discovery.senderProof, 'none');
    assert.deepEqual(discovery.warnings, []);
  });

  test(`${serializer}: replies are marked unauthenticated`, () => {
    assert.equal(decodeReply(frame(serializer, 'reply-rpcutil-ping')).senderProof, 'unsigned');
  });

  test(`${serializer}: an expired or future-dated capture is refused, and only warned about with enforceTtl off`, () => {
    const wire = frame(serializer, 'request-rpcutil-ping');
    assert.throws(() => decodeRequest(wire, CAPTURE_CLOCK_MS + 3600_000), ExpiredError);
    assert.throws(() => decodeRequest(wire, CAPTURE_CLOCK_MS - 3600_000), FutureDatedError);
    const late = decodeV1Request(wire, { resolveCallerKey: callerKeys, now: () => CAPTURE_CLOCK_MS + 3600_000, enforceTtl: false });
    assert.match(late.warnings.join('\n'), /s old, its ttl is 60 s \(accepted: enforce_ttl = 0\)/);
  });

  test(`${serializer}: a request opened with the wrong key, or from an unknown caller, is refused`, () => {
    const wire = frame(serializer, 'request-rpcutil-ping');
    assert.throws(() => decodeV1Request(wire, { resolveCallerKey: () => KEYS.serverPublic, now: () => CAPTURE_CLOCK_MS }), BadSignatureError);
    assert.throws(() => decodeV1Request(wire, { resolveCallerKey: () => null, now: () => CAPTURE_CLOCK_MS }), UnknownSenderError);
  });

  test(`${serializer}: a reply is opened only for an outstanding request and only with the caller's key`, () => {
    const wire = frame(serializer, 'reply-rpcutil-ping');
    let asked = '';
    assert.throws(() => decodeV1Reply(wire, { clientPrivateKey: KEYS.alicePrivate, isOutstanding: (id) => ((asked = id), false) }), NotAddressedToUsError);
    assert.match(asked, /^[0-9a-f]{32}$/);
    assert.throws(() => decodeV1Reply(wire, { clientPrivateKey: KEYS.serverPrivate, isOutstanding: () => true }), BadSignatureError);
  });

  test(`${serializer}: precheck runs after the caller's key opened the request and can refuse it`, () => {
    const seen: unknown[] = [];
    const refuse = new UnknownSenderError('not allowed');
    assert.throws(() => decodeV1Request(frame(serializer, 'request-rpcutil-ping'), {
      resolveCallerKey: callerKeys, now: () => CAPTURE_CLOCK_MS, precheck: (facts) => { seen.push(facts); throw refuse; },
    }), (error) => error === refuse);
    assert.deepEqual(Object.keys(seen[0] as object).sort(), ['agent', 'callerid', 'collective', 'payloadBytes', 'requestid', 'senderid']);
  });
}

test('a frame is not mistaken for the other kind of message', () => {
  assert.throws(() => decodeRequest(frame('yaml', 'reply-rpcutil-ping')), /:body|missing|unexpected key/);
  assert.throws(() => decodeReply(frame('marshal', 'request-rpcutil-ping')), /unexpected key/);
});

test('looksLikeV1 tells Marshal, YAML and anything else apart', () => {
  assert.equal(looksLikeV1(Buffer.from([0x04, 0x08, 0x7b])), 'marshal');
  assert.equal(looksLikeV1(Buffer.from('---\n:a: 1\n')), 'yaml');
  assert.equal(looksLikeV1(Buffer.from('TSC\x02')), null);
  assert.equal(looksLikeV1(Buffer.from('-')), null);
  assert.equal(looksLikeV1(new Uint8Array(0)), null);
});

test('the default limits admit the captured frames with room to spare', () => {
  for (const serializer of SERIALIZERS) for (const name of FRAMES) assert.ok(frame(serializer, name).length * 100 < DEFAULT_V1_LIMITS.maxBytes);
  const value: RubyValue = deserializeV1(frame('yaml', 'request-rpcutil-ping'), 'yaml', { maxBytes: 2000, maxItems: 40, maxDepth: 3 });
  assert.ok(value !== null);
});
