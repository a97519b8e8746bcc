/** aes_security: requests and replies round-trip, and only the intended parties can read them. */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Packr } from 'msgpackr';
import { NotAddressedToUsError, UnknownSenderError } from '../../src/errors.js';
import { decodeEnvelope } from '../../plugins/security/aes_security/v2/wire.js';
import { World, request, type ProviderUnderTest } from './world.js';

const world = new World();
after(() => world.cleanup());

let client: ProviderUnderTest;
let ephemeralClient: ProviderUnderTest;
let server: ProviderUnderTest;
let otherClient: ProviderUnderTest;
let keyDir: string;
let clientPub: string;
let clientSettings: Record<string, string>;
let serverSettings: Record<string, string>;

before(async () => {
  keyDir = world.dir('client-keys');
  const certDir = world.dir('certs');
  const alice = await world.keys('alice', keyDir);
  const mallory = await world.keys('mallory', world.dir('mallory'));
  const srv = await world.keys('server1', world.dir('server-keys'));
  clientPub = alice.publicPem;
  world.install(certDir, 'alice', alice.publicPem);
  world.install(certDir, 'mallory', mallory.publicPem);
  world.install(certDir, 'server1', srv.publicPem);
  clientSettings = { client_private: alice.privatePath, client_public: alice.publicPath, server_cert_dir: certDir };
  client = world.provider('client', clientSettings);
  ephemeralClient = world.provider('client', { ...clientSettings, reply_encryption: 'ephemeral' });
  otherClient = world.provider('client', { client_private: mallory.privatePath, client_public: mallory.publicPath, server_cert_dir: certDir });
  serverSettings = { server_private: srv.privatePath, server_public: srv.publicPath, client_cert_dir: certDir };
  server = world.provider('server', serverSettings);
});

describe('aes_security round trips', () => {
  test('validate() reports no problems for complete client and server configurations', () => {
    assert.deepEqual(client.provider.validate(), []);
    assert.deepEqual(server.provider.validate(), []);
  });

  test('callerid is cert=<basename of the public key file>', () => {
    assert.equal(client.provider.callerid(), 'cert=alice');
    assert.equal(server.provider.callerid(), 'cert=server1');
  });

  for (const mode of ['rsa', 'ephemeral'] as const) {
    test(`request and reply round-trip with ${mode} reply encryption`, () => {
      const sender = mode === 'rsa' ? client : ephemeralClient;
      const outgoing = request({ filter: { fact: [{ fact: 'country', operator: '==', value: 'uk' }], cf_class: ['web'], agent: ['rpcutil'], identity: [], compound: [] } });
      const decoded = server.provider.decodeRequest(sender.send(outgoing));
      assert.equal(decoded.callerid, 'cert=alice');
      assert.equal(decoded.requestid, outgoing.requestid);
      assert.deepEqual(decoded.body, outgoing.body);
      assert.deepEqual(decoded.filter, outgoing.filter);
      assert.deepEqual(decoded.warnings, []);
      const replyWire = server.provider.encodeReply({ senderid: 'server1', senderagent: 'rpcutil', body: { statuscode: 0, statusmsg: 'OK', data: { pong: 1 } } }, decoded);
      const reply = sender.receive(replyWire);
      assert.equal(reply.signer, 'cert=server1');
      assert.equal(reply.senderid, 'server1');
      assert.deepEqual(reply.body, { statuscode: 0, statusmsg: 'OK', data: { pong: 1 } });
    });
  }

  test('the request body is not visible in the wire bytes', () => {
    const wire = Buffer.from(client.send(request()));
    assert.equal(wire.includes('launch codes'), false);
  });

  test('a reply is readable by the caller only: another client with its own keys cannot decrypt it', () => {
    const outgoing = request();
    const decoded = server.provider.decodeRequest(client.send(outgoing));
    const replyWire = server.provider.encodeReply({ senderid: 'server1', senderagent: 'rpcutil', body: { secret: 'for alice' } }, decoded);
    assert.equal(Buffer.from(replyWire).includes('for alice'), false);
    // Mallory even claims to wait for that request id: the key is wrapped to alice's key, not hers.
    otherClient.send(request({ requestid: outgoing.requestid }));
    assert.throws(() => otherClient.receive(replyWire), NotAddressedToUsError);
  });

  test('an ephemeral-mode reply cannot be decrypted once the client forgot the request', () => {
    const outgoing = request();
    const decoded = server.provider.decodeRequest(ephemeralClient.send(outgoing));
    const replyWire = server.provider.encodeReply({ senderid: 'server1', senderagent: 'rpcutil', body: 1 }, decoded);
    ephemeralClient.forget(outgoing.requestid);
    assert.throws(() => ephemeralClient.receive(replyWire), NotAddressedToUsError);
  });

  test('an eavesdropper holding only the wire bytes cannot read a request', () => {
    // Everything an eavesdropper sees: the envelope and clear header. Without alice's public key no key derives.
    const wire = client.send(request());
    const { headerBytes, ciphertext } = decodeEnvelope(wire, 'request');
    const header = new Packr({ useRecords: false }).unpack(headerBytes) as Record<string, unknown>;
    assert.equal(header.pubkey, undefined, 'send_pubkey = 0 keeps the key off the wire');
    assert.equal(Buffer.from(ciphertext).includes('launch codes'), false);
  });

  test('anyone holding the sender public key can read the request (the MCollective property)', () => {
    const holderDir = world.dir('holder-certs');
    world.install(holderDir, 'alice', clientPub);
    const holder = world.provider('server', { server_private: '/nonexistent', server_public: '/nonexistent', client_cert_dir: holderDir });
    const decoded = holder.provider.decodeRequest(client.send(request()));
    assert.deepEqual((decoded.body as { data: { secret: string } }).data.secret, 'launch codes');
  });

  test('a server without the sender key rejects the request as from an unknown sender', () => {
    const emptyDir = world.dir('empty-certs');
    const stranger = world.provider('server', { server_private: '/nonexistent', server_public: '/nonexistent', client_cert_dir: emptyDir });
    assert.throws(() => stranger.provider.decodeRequest(client.send(request())), UnknownSenderError);
  });

  test('yaml and msgpack serializers both round-trip nested bodies to a receiver that accepts both', () => {
    const yamlClient = world.provider('client', { ...clientSettings, serializer: 'yaml' });
    const body = { action: 'x', data: { list: [1, 'two', null, true, 2.5], map: { nested: { deep: 'é' } }, bin: new Uint8Array([0, 1, 255]) } };
    const both = world.provider('server', { ...serverSettings, accept_serializers: 'yaml' });
    const decoded = both.provider.decodeRequest(yamlClient.send(request({ body })));
    assert.deepEqual((decoded.body as typeof body).data.list, body.data.list);
    assert.deepEqual((decoded.body as typeof body).data.map, body.data.map);
    assert.deepEqual(new Uint8Array((decoded.body as typeof body).data.bin), body.data.bin);
  });

  test('validate() reports the marshal serializer as Ruby-only, naming the key and where it was set', () => {
    const bad = world.provider('client', { client_private: '/nope/a-private.pem', client_public: '/nope/a.pem', serializer: 'marshal' });
    const problems = bad.provider.validate();
    assert.ok(problems.some((p) => p.includes('plugin.aes.serializer') && /Ruby/.test(p)), problems.join('\n'));
    assert.ok(problems.some((p) => p.includes('/nope/a-private.pem')), problems.join('\n'));
    assert.ok(problems.some((p) => p.includes('server_cert_dir')), problems.join('\n'));
  });
});
