/**
 * Protocol version 1 through the aes_security provider (legacy mode): the frames captured from the real MCollective
 * 2.13 decoded by the provider under a fixed clock (not only by the library), replies written as a Ruby client reads
 * them, Ruby's replies opened by a client provider, and what the provider adds to Ruby's checks: the replay cache
 * (keyed by the key block, so a changed requestid does not make a replay new), the clock_skew future check,
 * legacy_callers, the serializers accepted, and the tamper cases version 1 can detect.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  BadSignatureError, ExpiredError, FutureDatedError, LegacyRefusedError, MalformedMessageError, ReplayedError, UnknownSenderError,
} from '../../src/errors.js';
import {
  RubyHash, decodeV1Reply, deserializeV1, encodeV1Request, inspect, rpcRequestBody, serializeV1, sym, symHash, type RubyValue, type V1Serializer,
} from '../../plugins/security/aes_security/v1/index.js';
import type { RequestFilter } from '../../src/inter/message.js';
import { CAPTURE_CLOCK_MS, KEYS, SERIALIZERS, frame, repoFile, rubyDecoding } from './legacy-fixtures.js';
import { World, pairOf } from './world.js';

const world = new World();
after(() => world.cleanup());
world.clock = CAPTURE_CLOCK_MS;
const keys = world.dir('interop-keys');
const pem = (name: string) => repoFile(`test/fixtures/interop/keys/${name}`).toString('utf8');
const alice = await world.keys('alice', keys, { privatePem: pem('alice-private.pem'), publicPem: pem('alice.pem') });
const server = await world.keys('server', keys, { privatePem: pem('server-private.pem'), publicPem: pem('server.pem') });
const certs = world.dir('client-certs');
world.install(certs, 'alice', alice.publicPem);

const serverAes = { server_private: server.privatePath, server_public: server.publicPath, client_cert_dir: certs, legacy: 1 };
const clientAes = { client_private: alice.privatePath, client_public: alice.publicPath, server_cert_dir: certs, legacy: 1, protocol: 1 };
const newServer = (extra: Record<string, string | number> = {}) => world.provider('server', { ...serverAes, ...extra });

/** A captured frame with clear fields of its outer Hash replaced (what a path attacker can do). */
function altered(serializer: V1Serializer, name: string, change: Record<string, RubyValue>): Buffer {
  const outer = deserializeV1(frame(serializer, name), serializer) as RubyHash;
  for (const [key, value] of Object.entries(change)) outer.set(sym(key), value);
  return serializeV1(outer, serializer);
}

for (const serializer of SERIALIZERS) {
  describe(`${serializer}: the captured Ruby frames through the provider`, () => {
    test('rpcutil#ping decodes to tscollective\'s request, marked version 1', () => {
      const decoded = newServer({ accept_serializers: 'yaml' }).provider.decodeRequest(frame(serializer, 'request-rpcutil-ping'));
      assert.equal(decoded.protocol, 1);
      assert.equal(decoded.callerid, 'cert=alice');
      assert.equal(decoded.senderid, 'rb-client.interop');
      assert.equal(decoded.agent, 'rpcutil');
      assert.equal(decoded.collective, 'interop');
      assert.deepEqual(decoded.body, { action: 'ping', data: {} });
      assert.deepEqual(decoded.filter, { fact: [], cf_class: [], agent: ['rpcutil'], identity: [], compound: [] });
      assert.equal(decoded.senderProof, 'none');
      assert.equal(decoded.noReply, undefined);
      assert.deepEqual(decoded.warnings, []);
    });

    test('discovery\'s bare "ping" becomes the discovery agent\'s ping; the filter\'s "collective" entry is dropped', () => {
      const decoded = newServer({ accept_serializers: 'yaml' }).provider.decodeRequest(frame(serializer, 'request-discovery-ping'));
      assert.equal(decoded.agent, 'discovery');
      assert.deepEqual(decoded.body, { action: 'ping', data: {} });
      assert.deepEqual(decoded.filter.agent, ['rpcutil']);
      assert.equal('collective' in decoded.filter, false);
    });

    test('replies go back in the request\'s serializer, shaped as a Ruby client reads them', () => {
      const receiver = newServer({ accept_serializers: 'yaml' }).provider;
      const ping = receiver.decodeRequest(frame(serializer, 'request-rpcutil-ping'));
      const rpc = receiver.encodeReply({ senderid: 'ts-node.interop', senderagent: 'rpcutil', body: { statuscode: 0, statusmsg: 'OK', data: { pong: 1796027192 } } }, ping);
      const opened = decodeV1Reply(Buffer.from(rpc), { clientPrivateKey: KEYS.alicePrivate, isOutstanding: (id) => id === ping.requestid });
      assert.equal(opened.serializer, serializer);
      assert.equal(inspect(opened.body), '{:statuscode=>0, :statusmsg=>"OK", :data=>{:pong=>1796027192}}');
      const discovery = receiver.decodeRequest(frame(serializer, 'request-discovery-ping'));
      const pong = receiver.encodeReply({ senderid: 'ts-node.interop', senderagent: 'discovery', body: { statuscode: 0, statusmsg: 'OK', data: { message: 'pong' } } }, discovery);
      const pongOpened = decodeV1Reply(Buffer.from(pong), { clientPrivateKey: KEYS.alicePrivate, isOutstanding: () => true });
      assert.equal(pongOpened.body, 'pong');
      assert.equal(pongOpened.senderagent, 'discovery');
    });

    test('a client provider opens Ruby\'s replies to its own requests, marked unsigned', () => {
      const client = world.provider('client', { ...clientAes, serializer: serializer === 'yaml' ? 'yaml' : 'marshal' });
      for (const [requestName, replyName, agent, body] of [
        ['request-rpcutil-ping', 'reply-rpcutil-ping', 'rpcutil', { action: 'ping', data: {} }],
        ['request-discovery-ping', 'reply-discovery-pong', 'discovery', { action: 'ping', data: {} }],
      ] as const) {
        const requestid = (deserializeV1(frame(serializer, requestName), serializer) as RubyHash).getSym('requestid') as string;
        client.send({ requestid, senderid: 'ts-client', agent, collective: 'interop', filter: { fact: [], cf_class: [], agent: [], identity: [], compound: [] }, ttl: 60, body });
        const reply = client.receive(frame(serializer, replyName));
        assert.equal(reply.senderProof, 'unsigned');
        assert.equal(reply.signer, '');
        assert.equal(reply.protocol, 1);
        assert.equal(reply.senderid, 'rb-server.interop');
        // The pong Ruby sent, as Ruby itself decoded it (decoded.txt).
        const pong = Number(/:pong=>(\d+)/.exec(rubyDecoding(serializer).get(replyName)?.inspect ?? '')?.[1]);
        assert.deepEqual(reply.body, agent === 'rpcutil'
          ? { statuscode: 0, statusmsg: 'OK', data: { pong } }
          : { statuscode: 0, statusmsg: 'OK', data: { message: 'pong' } });
      }
    });

    test('a replay is refused, also with another requestid: the key block identifies a version 1 request', () => {
      const receiver = newServer({ accept_serializers: 'yaml' }).provider;
      receiver.decodeRequest(frame(serializer, 'request-rpcutil-ping'));
      assert.throws(() => receiver.decodeRequest(frame(serializer, 'request-rpcutil-ping')), ReplayedError);
      assert.throws(() => receiver.decodeRequest(altered(serializer, 'request-rpcutil-ping', { requestid: 'f'.repeat(32) })), ReplayedError);
    });

    test('tampering version 1 can detect is refused: ttl, msgtime, another sender\'s key, a body for another agent', () => {
      const receiver = () => newServer({ accept_serializers: 'yaml' }).provider;
      assert.throws(() => receiver().decodeRequest(altered(serializer, 'request-rpcutil-ping', { ttl: 3600 })), BadSignatureError);
      assert.throws(() => receiver().decodeRequest(altered(serializer, 'request-rpcutil-ping', { msgtime: 1796027194 })), BadSignatureError);
      const both = newServer({ accept_serializers: 'yaml', client_cert_dir: keys }).provider;
      assert.throws(() => both.decodeRequest(altered(serializer, 'request-rpcutil-ping', { callerid: 'cert=server' })), BadSignatureError);
      assert.throws(() => receiver().decodeRequest(altered(serializer, 'request-rpcutil-ping', { agent: 'discovery' })), MalformedMessageError);
      const mallory = newServer({ accept_serializers: 'yaml', client_cert_dir: world.dir(`wrong-${serializer}`) });
      world.install(world.dir(`wrong-${serializer}`), 'alice', server.publicPem);
      assert.throws(() => mallory.provider.decodeRequest(frame(serializer, 'request-rpcutil-ping')), BadSignatureError);
    });

    test('expired and future-dated requests are refused (Ruby has no future check)', () => {
      const late = newServer({ accept_serializers: 'yaml' });
      world.clock = CAPTURE_CLOCK_MS + 3600_000;
      try {
        assert.throws(() => late.provider.decodeRequest(frame(serializer, 'request-rpcutil-ping')), ExpiredError);
        world.clock = CAPTURE_CLOCK_MS - 60_000;
        assert.throws(() => late.provider.decodeRequest(frame(serializer, 'request-rpcutil-ping')), FutureDatedError);
      } finally {
        world.clock = CAPTURE_CLOCK_MS;
      }
    });
  });
}

describe('what legacy mode lets in', () => {
  test('without legacy = 1 a version 1 message is refused as one', () => {
    const plain = world.provider('server', { ...serverAes, legacy: 0 });
    assert.throws(() => plain.provider.decodeRequest(frame('marshal', 'request-rpcutil-ping')), LegacyRefusedError);
    assert.throws(() => plain.provider.decodeRequest(frame('yaml', 'request-rpcutil-ping')), /legacy protocol version 1 message \(MCollective 2\.x, yaml\)/);
  });

  test('legacy_callers limits who may use version 1 (key names or cert=<name>), before any key work', () => {
    assert.throws(() => newServer({ legacy_callers: 'bob' }).provider.decodeRequest(frame('marshal', 'request-rpcutil-ping')), LegacyRefusedError);
    assert.equal(newServer({ legacy_callers: 'bob, cert=alice' }).provider.decodeRequest(frame('marshal', 'request-rpcutil-ping')).callerid, 'cert=alice');
  });

  test('version 1 accepts its serializer (Marshal unless serializer = yaml) and accept_serializers\' yaml and marshal', () => {
    assert.throws(() => newServer().provider.decodeRequest(frame('yaml', 'request-rpcutil-ping')), /version 1 request in yaml, which is not accepted here/);
    assert.throws(() => newServer({ serializer: 'yaml' }).provider.decodeRequest(frame('marshal', 'request-rpcutil-ping')), MalformedMessageError);
    assert.equal(newServer({ serializer: 'yaml' }).provider.decodeRequest(frame('yaml', 'request-rpcutil-ping')).agent, 'rpcutil');
    assert.equal(newServer({ serializer: 'yaml', accept_serializers: 'marshal' }).provider.decodeRequest(frame('marshal', 'request-rpcutil-ping')).agent, 'rpcutil');
  });

  test('process_results = false and data messages (registration) ask for no reply', () => {
    const write = (body: RubyValue, agent = 'rpcutil') => encodeV1Request({
      requestid: 'a'.repeat(32), senderid: 'rb-client.interop', callerid: 'cert=alice', agent, collective: 'interop',
      filter: { fact: [], cf_class: [], agent: [], identity: [], compound: [] }, ttl: 60, body,
    }, { clientPrivateKey: KEYS.alicePrivate, serializer: 'marshal', now: () => CAPTURE_CLOCK_MS });
    const quiet = newServer().provider.decodeRequest(write(rpcRequestBody({ agent: 'rpcutil', action: 'ping', caller: 'cert=alice', data: {}, processResults: false })));
    assert.equal(quiet.noReply, true);
    assert.deepEqual(quiet.body, { action: 'ping', data: {} });
    const registration = newServer().provider.decodeRequest(write(symHash({ agentlist: ['rpcutil'], facts: new RubyHash([['role', 'web']]) }), 'registration'));
    assert.equal(registration.noReply, true);
    assert.deepEqual(registration.body, { agentlist: ['rpcutil'], facts: { role: 'web' } });
    assert.throws(() => newServer().provider.decodeRequest(write(['rpcutil'], 'registration').subarray(0, 100)), MalformedMessageError);
  });

  test('serializer = marshal (or unset) leaves version 2 on msgpack; serializer = yaml makes both versions YAML', () => {
    for (const [serializer, v2] of [['marshal', 'msgpack'], [undefined, 'msgpack'], ['yaml', 'yaml']] as const) {
      const client = world.provider('client', { ...clientAes, protocol: 2, ...(serializer ? { serializer } : {}) });
      const wire = client.send({ requestid: randomBytes(16).toString('hex'), senderid: 'ts-client', agent: 'rpcutil', collective: 'interop', filter: { fact: [], cf_class: [], agent: [], identity: [], compound: [] }, ttl: 60, body: { action: 'ping', data: {} } });
      assert.equal(Buffer.from(wire).subarray(0, 3).toString(), 'TSC');
      assert.ok(Buffer.from(wire).includes(Buffer.from(v2)), `version 2 header names ${v2} (serializer ${serializer})`);
    }
  });

  test('a key block relabelled with another caller name is a replay, and teaches no key (learning without a CA)', () => {
    const learner = newServer({ client_cert_dir: world.dir('learning-certs'), learn_pubkeys: 1, insecure_learning: 1, accept_serializers: 'yaml' });
    const wire = encodeV1Request({
      requestid: 'e'.repeat(32), senderid: 'rb-client.interop', callerid: 'cert=alice', agent: 'rpcutil', collective: 'interop',
      filter: { fact: [], cf_class: [], agent: [], identity: [], compound: [] }, ttl: 60,
      body: rpcRequestBody({ agent: 'rpcutil', action: 'ping', caller: 'cert=alice', data: {}, processResults: true }),
    }, { clientPrivateKey: KEYS.alicePrivate, clientPublicPem: KEYS.alicePem, serializer: 'marshal', now: () => CAPTURE_CLOCK_MS });
    assert.equal(learner.provider.decodeRequest(wire).callerid, 'cert=alice');
    const outer = deserializeV1(wire, 'marshal') as RubyHash;
    outer.set(sym('callerid'), 'cert=mallory');
    outer.set(sym('requestid'), 'f'.repeat(32));
    assert.throws(() => learner.provider.decodeRequest(serializeV1(outer, 'marshal')), ReplayedError);
    assert.ok(existsSync(join(world.root, 'learning-certs', 'alice.pem')));
    assert.equal(existsSync(join(world.root, 'learning-certs', 'mallory.pem')), false, 'the relabelled copy taught no key');
  });

  test('a caller whose key is not RSA cannot use version 1', async () => {
    const edCerts = world.dir('ed-certs');
    world.install(edCerts, 'alice', (await pairOf('ed25519')).publicPem);
    assert.throws(() => newServer({ client_cert_dir: edCerts }).provider.decodeRequest(frame('marshal', 'request-rpcutil-ping')),
      (error: unknown) => error instanceof UnknownSenderError && /version 1 needs RSA/.test(error.message));
  });

  test('an unknown caller is refused as in version 2', () => {
    const stranger = newServer({ client_cert_dir: world.dir('empty-certs') });
    assert.throws(() => stranger.provider.decodeRequest(frame('marshal', 'request-rpcutil-ping')), UnknownSenderError);
  });
});

describe('version 1 between two providers', () => {
  test('a protocol 1 client and a legacy server: filters (compound in Ruby\'s parsed form), bodies and replies round-trip', () => {
    for (const serializer of ['yaml', 'marshal'] as const) {
      const client = world.provider('client', { ...clientAes, serializer, send_pubkey: 1 });
      const receiver = newServer({ serializer });
      const filter = {
        fact: [{ fact: 'country', operator: '==' as const, value: 'uk' }], cf_class: ['web'], agent: ['rpcutil'], identity: ['/^web/'],
        compound: ['country=uk and not (role=db or /web/)', 'motd="hello world" or db'],
      };
      const requestid = 'b'.repeat(31) + (serializer === 'yaml' ? '1' : '2');
      const wire = client.send({ requestid, senderid: 'ts-client', agent: 'rpcutil', collective: 'interop', filter, ttl: 60, body: { action: 'get_fact', data: { fact: 'os' } } });
      const outer = deserializeV1(wire, serializer) as RubyHash;
      assert.equal(inspect((outer.getSym('filter') as RubyHash).get('compound')!),
        '[[{"statement"=>"country==uk"}, {"and"=>"and"}, {"not"=>"not"}, {"("=>"("}, {"statement"=>"role==db"}, {"or"=>"or"}, {"statement"=>"/web/"}, {")"=>")"}], ' +
        '[{"statement"=>"motd==hello world"}, {"or"=>"or"}, {"statement"=>"db"}]]');
      assert.equal(typeof outer.getSym('sslpubkey'), 'string');
      const decoded = receiver.provider.decodeRequest(wire);
      assert.deepEqual(decoded.body, { action: 'get_fact', data: { fact: 'os' } });
      assert.deepEqual(decoded.filter.compound, ['country==uk and not ( role==db or /web/ )', 'motd=="hello world" or db']);
      assert.deepEqual({ ...decoded.filter, compound: [] }, { ...filter, compound: [] });
      const reply = client.receive(receiver.provider.encodeReply({ senderid: 'node1', senderagent: 'rpcutil', body: { statuscode: 0, statusmsg: 'OK', data: { value: 'Debian', nested: { a: [1, 2] } } } }, decoded));
      assert.deepEqual(reply.body, { statuscode: 0, statusmsg: 'OK', data: { value: 'Debian', nested: { a: [1, 2] } } });
      assert.equal(reply.senderProof, 'unsigned');
    }
  });

  test('discovery is written as Ruby writes it: the bare "ping", and "collective" in the filter only when the filter selects something', () => {
    const client = world.provider('client', clientAes);
    const empty: RequestFilter = { fact: [], cf_class: [], agent: [], identity: [], compound: [] };
    const write = (filter: RequestFilter) => deserializeV1(client.send({
      requestid: randomBytes(16).toString('hex'), senderid: 'ts-client', agent: 'discovery',
      collective: 'interop', filter, ttl: 60, body: { action: 'ping', data: {} },
    }), 'marshal') as RubyHash;
    // `mco ping` sends no "collective": a Ruby server reads a filter holding only it as matching nothing.
    assert.equal(inspect(write(empty).getSym('filter')!), '{"fact"=>[], "cf_class"=>[], "agent"=>[], "identity"=>[], "compound"=>[]}');
    const discovery = write({ ...empty, agent: ['rpcutil'] });
    assert.equal(inspect(discovery.getSym('filter')!), '{"fact"=>[], "cf_class"=>[], "agent"=>["rpcutil"], "identity"=>[], "compound"=>[], "collective"=>"interop"}');
    const body = deserializeV1(frame('marshal', 'request-discovery-ping'), 'marshal') as RubyHash;
    assert.equal(inspect(body.getSym('filter')!), inspect(discovery.getSym('filter')!), 'the filter of the captured Ruby discovery');
  });

  test('a registration written in version 1 is one-way, its reply refused as not expected', () => {
    const node = world.provider('server', { ...serverAes, protocol: 1 });
    const encoded = node.provider.encodeRequest({
      requestid: 'c'.repeat(32), senderid: 'server', agent: 'registration', collective: 'interop',
      filter: { fact: [], cf_class: [], agent: ['registration'], identity: [], compound: [] }, ttl: 60,
      body: { agentlist: ['rpcutil'], facts: { role: 'web' }, classes: [], collectives: ['interop'] },
    });
    assert.equal(encoded.oneWay, true);
    const outer = deserializeV1(encoded.wire, 'marshal') as RubyHash;
    assert.equal(outer.getSym('callerid'), 'cert=server');
    const collector = world.provider('server', { ...serverAes, client_cert_dir: keys });
    const decoded = collector.provider.decodeRequest(encoded.wire);
    assert.equal(decoded.noReply, true);
    assert.equal(decoded.senderProof, 'key-name');
    assert.deepEqual(decoded.body, { agentlist: ['rpcutil'], facts: { role: 'web' }, classes: [], collectives: ['interop'] });
  });
});

describe('legacy settings at start-up', () => {
  test('protocol 1 needs legacy = 1; marshal and legacy_callers need it too; every problem at once', () => {
    const problems = world.provider('client', { ...clientAes, legacy: 0, serializer: 'marshal', accept_serializers: 'marshal', legacy_callers: 'bad name' }).provider.validate();
    assert.ok(problems.some((p) => /plugin\.aes\.protocol.*needs plugin\.aes\.legacy = 1/.test(p)), problems.join('\n'));
    assert.ok(problems.some((p) => /plugin\.aes\.serializer.*marshal is Ruby's own format/.test(p)), problems.join('\n'));
    assert.ok(problems.some((p) => /plugin\.aes\.accept_serializers.*marshal/.test(p)), problems.join('\n'));
    assert.ok(problems.some((p) => /legacy_callers.*does nothing without/.test(p)), problems.join('\n'));
    assert.ok(problems.some((p) => /legacy_callers.*bad name/.test(p)), problems.join('\n'));
  });

  test('protocol 1 needs an RSA key', async () => {
    const ed = await world.keys('edwin', world.dir('ed'), await pairOf('ed25519'));
    const problems = world.provider('client', { client_private: ed.privatePath, client_public: ed.publicPath, server_cert_dir: certs, legacy: 1, protocol: 1, reply_encryption: 'ephemeral' }).provider.validate();
    assert.ok(problems.some((p) => /protocol 1 encrypts with RSA.*ed25519/.test(p)), problems.join('\n'));
  });

  test('legacy mode warns once at start-up what it gives up; off, nothing is said', () => {
    const legacy = newServer();
    assert.deepEqual(legacy.provider.validate(), []);
    legacy.provider.validate();
    const warnings = legacy.logger.records.filter((r) => r.level === 'warn' && /legacy wire mode/.test(r.msg));
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!.msg, /anyone holding a client's public key can read and forge/);
    assert.match(warnings[0]!.msg, /replies are not authenticated/);
    const client = world.provider('client', clientAes);
    assert.deepEqual(client.provider.validate(), []);
    assert.ok(client.logger.records.some((r) => r.level === 'warn' && /this client writes protocol version 1/.test(r.msg)));
    const plain = world.provider('server', { ...serverAes, legacy: 0 });
    plain.provider.validate();
    assert.equal(plain.logger.records.filter((r) => /legacy/.test(r.msg)).length, 0);
  });
});
