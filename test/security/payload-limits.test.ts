/**
 * aes_security bounds what it parses before parsing it: max_message_size before anything, the serializer a message
 * names before decrypting (only plugin.aes.serializer and accept_serializers), the payload's structure before
 * deserializing (max_payload_items, max_payload_depth); and decodeRequest's precheck runs once the signature and
 * freshness are proven, before the payload is touched.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { BadSignatureError, PayloadLimitError, ReplayedError, UnknownSenderError, type SecurityError } from '../../src/errors.js';
import type { RequestEnvelopeFacts } from '../../src/inter/security.js';
import { decodeEnvelope } from '../../plugins/security/aes_security/v2/wire.js';
import { World, request, type ProviderUnderTest } from './world.js';

const world = new World();
after(() => world.cleanup());

let clientSettings: Record<string, string>;
let serverSettings: Record<string, string>;
let client: ProviderUnderTest;

before(async () => {
  const certDir = world.dir('certs');
  const alice = await world.keys('alice', world.dir('alice'));
  const node = await world.keys('node1', world.dir('node1'));
  world.install(certDir, 'alice', alice.publicPem);
  world.install(certDir, 'node1', node.publicPem);
  clientSettings = { client_private: alice.privatePath, client_public: alice.publicPath, server_cert_dir: certDir };
  serverSettings = { server_private: node.privatePath, server_public: node.publicPath, client_cert_dir: certDir };
  client = world.provider('client', clientSettings);
});

const server = (aes: Record<string, string | number> = {}, top: Record<string, string | number> = {}) => world.provider('server', { ...serverSettings, ...aes }, top);

function code(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (error) {
    return (error as SecurityError).code;
  }
}

describe('before anything is parsed: max_message_size', () => {
  test('a message bigger than max_message_size is refused whatever its bytes, signature unchecked', () => {
    const node = server({}, { max_message_size: 8192 });
    assert.throws(() => node.provider.decodeRequest(Buffer.alloc(8193, 0x41)), (error: unknown) =>
      error instanceof PayloadLimitError && /request of 8193 bytes refused: larger than max_message_size \(8192 bytes\)/.test(error.message));
    const big = client.send(request({ body: { action: 'x', data: { blob: new Uint8Array(10_000) } } }));
    assert.equal(code(() => node.provider.decodeRequest(big)), 'TSC_SEC_PAYLOAD_LIMIT');
    assert.ok(server().provider.decodeRequest(big), 'the default (4 MiB) accepts it');
  });
});

describe('before decrypting: only accepted serializers', () => {
  test('a request naming another serializer is refused before its signature is even checked, naming it', () => {
    const yamlClient = world.provider('client', { ...clientSettings, serializer: 'yaml' });
    const wire = Buffer.from(yamlClient.send(request()));
    const msgpackOnly = server();
    let prechecked = false;
    assert.throws(() => msgpackOnly.provider.decodeRequest(wire, { precheck: () => { prechecked = true; } }),
      /names serializer "yaml", which is not accepted here \(plugin\.aes\.serializer and plugin\.aes\.accept_serializers allow: msgpack\)/);
    assert.equal(prechecked, false);
    wire[wire.length - 5]! ^= 1;
    assert.equal(code(() => msgpackOnly.provider.decodeRequest(wire)), 'TSC_SEC_MALFORMED', 'refused for its serializer, not its signature');
    assert.ok(server({ accept_serializers: 'yaml' }).provider.decodeRequest(yamlClient.send(request())));
    assert.ok(server({ serializer: 'yaml' }).provider.decodeRequest(yamlClient.send(request())));
  });

  test('replies too: a client accepts the serializers it is configured for', () => {
    const node = server({ serializer: 'yaml', accept_serializers: 'msgpack' });
    const decoded = node.provider.decodeRequest(client.send(request()));
    const reply = node.provider.encodeReply({ senderid: 'node1', senderagent: 'rpcutil', body: 'pong' }, decoded);
    assert.throws(() => client.receive(reply), /names serializer "yaml", which is not accepted/);
    const tolerant = world.provider('client', { ...clientSettings, accept_serializers: 'yaml' });
    const again = node.provider.decodeRequest(tolerant.send(request()));
    assert.equal(tolerant.receive(node.provider.encodeReply({ senderid: 'node1', senderagent: 'rpcutil', body: 'pong' }, again)).body, 'pong');
  });

  test('validate() names an accepted serializer that does not exist', () => {
    const problems = world.provider('client', { ...clientSettings, accept_serializers: 'yaml, marshal, json' }).provider.validate().join('\n');
    assert.match(problems, /plugin\.aes\.accept_serializers \(.*\): marshal is accepted only in protocol version 1/);
    assert.match(problems, /plugin\.aes\.accept_serializers \(.*\): unknown serializer "json"/);
  });
});

describe('before deserializing: structure limits', () => {
  const many = (n: number) => request({ body: { action: 'x', data: { items: Array.from({ length: n }, (_, i) => i) } } });

  test('a payload with more values than max_payload_items is refused, for msgpack and yaml', () => {
    for (const serializer of ['msgpack', 'yaml']) {
      const sender = world.provider('client', { ...clientSettings, serializer });
      const node = server({ serializer, max_payload_items: 1000 });
      assert.ok(node.provider.decodeRequest(sender.send(many(400))), serializer);
      assert.throws(() => node.provider.decodeRequest(sender.send(many(2000))), (error: unknown) =>
        error instanceof PayloadLimitError && /payload refused before deserializing: .*max_payload_items = 1000/.test(error.message), serializer);
    }
  });

  test('a payload nested deeper than max_payload_depth is refused, for msgpack and yaml', () => {
    let deep: unknown = 'bottom';
    for (let i = 0; i < 12; i++) deep = [deep];
    for (const serializer of ['msgpack', 'yaml']) {
      const sender = world.provider('client', { ...clientSettings, serializer });
      const wire = sender.send(request({ body: { action: 'x', data: { deep } } }));
      assert.ok(server({ serializer }).provider.decodeRequest(wire), `${serializer}: the default depth (64) allows it`);
      const shallow = server({ serializer, max_payload_depth: 8 });
      assert.equal(code(() => shallow.provider.decodeRequest(sender.send(request({ body: { action: 'x', data: { deep } } })))), 'TSC_SEC_PAYLOAD_LIMIT', serializer);
    }
  });

  test('replies are bounded the same way', () => {
    const strict = world.provider('client', { ...clientSettings, max_payload_items: 100 });
    const node = server();
    const decoded = node.provider.decodeRequest(strict.send(request()));
    const reply = node.provider.encodeReply({ senderid: 'node1', senderagent: 'rpcutil', body: { list: Array.from({ length: 500 }, () => 1) } }, decoded);
    assert.equal(code(() => strict.receive(reply)), 'TSC_SEC_PAYLOAD_LIMIT');
  });
});

describe('precheck', () => {
  test('runs after the signature and freshness checks with the envelope facts, before decrypting', () => {
    const node = server({ max_payload_items: 100 });
    const wire = client.send(request({ requestid: 'a'.repeat(32), agent: 'nettest', body: { action: 'x', data: { items: Array.from({ length: 500 }, () => 1) } } }));
    const seen: RequestEnvelopeFacts[] = [];
    const denied = new UnknownSenderError('cert=alice may not call nettest');
    assert.throws(() => node.provider.decodeRequest(wire, { precheck: (facts) => { seen.push(facts); throw denied; } }), (error: unknown) => error === denied,
      'the precheck refusal propagates as is, before the oversized payload is deserialized');
    assert.deepEqual(seen, [{
      requestid: 'a'.repeat(32), callerid: 'cert=alice', senderid: 'client.example.net', agent: 'nettest', collective: 'mcollective',
      payloadBytes: decodeEnvelope(wire, 'request').ciphertext.length,
    }]);
    // The refused request was still seen: a replay of it is refused as a replay, without consulting precheck again.
    assert.throws(() => node.provider.decodeRequest(wire, { precheck: () => assert.fail('precheck must not run for a replay') }), ReplayedError);
  });

  test('does not run for a message whose signature does not verify', () => {
    const wire = Buffer.from(client.send(request()));
    wire[wire.length - 3]! ^= 0x10;
    assert.throws(() => server().provider.decodeRequest(wire, { precheck: () => assert.fail('precheck must not run') }), BadSignatureError);
  });

  test('a precheck that lets the request through changes nothing', () => {
    const decoded = server().provider.decodeRequest(client.send(request()), { precheck: () => undefined });
    assert.deepEqual((decoded.body as { data: { secret: string } }).data.secret, 'launch codes');
  });
});
