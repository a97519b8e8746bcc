/** aes_security: changing any byte of a message, header fields included, gets it rejected. */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createPublicKey } from 'node:crypto';
import { Packr } from 'msgpackr';
import { BadSignatureError, SecurityError } from '../../src/errors.js';
import { aeadDecrypt, aeadEncrypt, hmacSha256, x25519Generate } from '../../plugins/security/aes_security/primitives.js';
import { LABELS, decodeEnvelope, encodeEnvelope, type Envelope, type MessageKind } from '../../plugins/security/aes_security/v2/wire.js';
import { World, request, type ProviderUnderTest } from './world.js';

const world = new World();
after(() => world.cleanup());
const packr = new Packr({ useRecords: false, moreTypes: false });

let client: ProviderUnderTest;
let ephemeralClient: ProviderUnderTest;
let server: ProviderUnderTest;
let alicePublicPem: string;

before(async () => {
  const certDir = world.dir('certs');
  const alice = await world.keys('alice');
  const mallory = await world.keys('mallory', world.dir('mallory'));
  const srv = await world.keys('server1', world.dir('server'));
  alicePublicPem = alice.publicPem;
  for (const [name, pem] of [['alice', alice.publicPem], ['mallory', mallory.publicPem], ['server1', srv.publicPem]]) world.install(certDir, name!, pem!);
  const settings = { client_private: alice.privatePath, client_public: alice.publicPath, server_cert_dir: certDir };
  client = world.provider('client', settings);
  ephemeralClient = world.provider('client', { ...settings, reply_encryption: 'ephemeral' });
  server = world.provider('server', { server_private: srv.privatePath, server_public: srv.publicPath, client_cert_dir: certDir });
});

function split(wire: Uint8Array, kind: MessageKind = 'request'): { envelope: Envelope; header: Record<string, unknown> } {
  const envelope = decodeEnvelope(wire, kind);
  return { envelope, header: packr.unpack(envelope.headerBytes) as Record<string, unknown> };
}

function withHeader(wire: Uint8Array, change: (header: Record<string, unknown>) => void): Uint8Array {
  const kind: MessageKind = wire[4] === 1 ? 'request' : 'reply';
  const { envelope, header } = split(wire, kind);
  change(header);
  return encodeEnvelope(kind, packr.pack(header), envelope.ciphertext, envelope.signature);
}

function flipEveryByte(wire: Uint8Array, decode: (bytes: Uint8Array) => unknown): void {
  for (let index = 0; index < wire.length; index++) {
    const copy = Buffer.from(wire);
    copy[index]! ^= 0x01;
    assert.throws(() => decode(copy), SecurityError, `flipping byte ${index} of ${wire.length} was accepted`);
  }
}

describe('tampering with requests', () => {
  test('flipping any single bit-0 of any byte of a request is rejected, and the original still decodes', () => {
    const wire = client.send(request());
    flipEveryByte(wire, (bytes) => server.provider.decodeRequest(bytes));
    assert.ok(server.provider.decodeRequest(wire));
  });

  const changes: Record<string, (h: Record<string, unknown>) => void> = {
    requestid: (h) => { h.requestid = 'f'.repeat(32); },
    senderid: (h) => { h.senderid = 'other.example.net'; },
    callerid: (h) => { h.callerid = 'cert=mallory'; },
    agent: (h) => { h.agent = 'puppet'; },
    collective: (h) => { h.collective = 'production'; },
    ttl: (h) => { h.ttl = 86400; },
    msgtime: (h) => { h.msgtime = (h.msgtime as number) + 1; },
    kid: (h) => { h.kid = '0'.repeat(32); },
    'reply key material': (h) => { h.reply = { mode: 'ephemeral', pk: x25519Generate().publicKey }; },
    'attached public key': (h) => { h.pubkey = alicePublicPem; },
  };
  for (const [field, change] of Object.entries(changes)) {
    test(`changing the request header's ${field} is rejected`, () => {
      const wire = client.send(request());
      assert.throws(() => server.provider.decodeRequest(withHeader(wire, change)), SecurityError);
      assert.ok(server.provider.decodeRequest(wire), 'the untouched original is accepted');
    });
  }

  test('re-encrypting a changed filter with the sender-public-key-derived key still fails the signature', () => {
    // An attacker holding alice's public key can decrypt and re-seal the payload, but cannot sign it.
    const wire = client.send(request());
    const { envelope, header } = split(wire);
    const key = hmacSha256(LABELS.requestKey, createPublicKey(alicePublicPem).export({ format: 'der', type: 'spki' }));
    const plaintext = aeadDecrypt(key, header.iv as Uint8Array, envelope.ciphertext, envelope.headerBytes);
    assert.ok(plaintext, 'the public key holder can read the request');
    const payload = packr.unpack(plaintext) as { filter: { identity: string[] } };
    payload.filter.identity = ['/./'];
    const forged = encodeEnvelope('request', envelope.headerBytes, aeadEncrypt(key, header.iv as Uint8Array, packr.pack(payload), envelope.headerBytes), envelope.signature);
    assert.throws(() => server.provider.decodeRequest(forged), BadSignatureError);
  });
});

describe('tampering with replies', () => {
  for (const [mode, sender] of [['rsa', () => client], ['ephemeral', () => ephemeralClient]] as const) {
    test(`flipping any byte of a ${mode} reply is rejected, and the original still decodes`, () => {
      const decoded = server.provider.decodeRequest(sender().send(request()));
      const wire = server.provider.encodeReply({ senderid: 'server1', senderagent: 'rpcutil', body: { statuscode: 0, data: {} } }, decoded);
      flipEveryByte(wire, (bytes) => sender().receive(bytes));
      assert.equal(sender().receive(wire).senderid, 'server1');
    });

    const changes: Record<string, (h: Record<string, unknown>) => void> = {
      requestid: (h) => { h.requestid = 'e'.repeat(32); },
      senderid: (h) => { h.senderid = 'node2'; },
      senderagent: (h) => { h.senderagent = 'other'; },
      msgtime: (h) => { h.msgtime = (h.msgtime as number) - 100; },
      signer: (h) => { h.signer = 'cert=mallory'; },
      serializer: (h) => { h.serializer = 'yaml'; },
      'reply key material': mode === 'rsa'
        ? (h) => { const copy = Buffer.from(h.wrappedkey as Uint8Array); copy[5]! ^= 1; h.wrappedkey = copy; }
        : (h) => { h.epk = x25519Generate().publicKey; },
    };
    for (const [field, change] of Object.entries(changes)) {
      test(`changing a ${mode} reply header's ${field} is rejected`, () => {
        const decoded = server.provider.decodeRequest(sender().send(request()));
        const wire = server.provider.encodeReply({ senderid: 'server1', senderagent: 'rpcutil', body: 'pong' }, decoded);
        assert.throws(() => sender().receive(withHeader(wire, change)), SecurityError);
        assert.equal(sender().receive(wire).body, 'pong');
      });
    }
  }
});

describe('malformed input', () => {
  test('decode APIs throw only SecurityError subclasses, whatever the bytes', () => {
    const samples: Uint8Array[] = [new Uint8Array(0), Buffer.from('--- :senderid: x\n'), Buffer.from([0x04, 0x08, 0x7b]), Buffer.from([0x95])];
    const wire = client.send(request());
    for (let cut = 1; cut < wire.length; cut += 7) samples.push(wire.subarray(0, cut));
    const one = new Uint8Array(1);
    samples.push(Buffer.concat([encodeEnvelope('request', one, one, one), Buffer.from([0])]));
    samples.push(encodeEnvelope('request', packr.pack({ requestid: 1 }), one, one));
    samples.push(encodeEnvelope('request', packr.pack([1, 2]), one, one));
    samples.push(encodeEnvelope('request', Buffer.from([0xc1]), one, one));
    samples.push(Buffer.from([0x54, 0x53, 0x43, 2, 1, 0xff, 0xff, 0xff, 0xff]));
    samples.push(packr.pack([2, 'req', one, one, one]));
    for (let i = 0; i < 200; i++) samples.push(Buffer.from(Array.from({ length: 1 + (i * 37) % 300 }, (_, j) => (i * 131 + j * 17) & 0xff)));
    for (const sample of samples) {
      assert.throws(() => server.provider.decodeRequest(sample), SecurityError);
      assert.throws(() => client.receive(sample), SecurityError);
    }
  });

  test('an unsupported protocol version is named in the error', () => {
    const bytes = Buffer.from(encodeEnvelope('request', new Uint8Array(1), new Uint8Array(1), new Uint8Array(1)));
    bytes[3] = 1;
    assert.throws(() => server.provider.decodeRequest(bytes), /unsupported protocol version 1; supported: 2/);
  });

  test('a reply envelope is refused where a request is expected, and the other way round', () => {
    const wire = client.send(request());
    assert.throws(() => client.receive(wire), /expected a reply envelope/);
  });

  test('a Ruby MCollective message is recognised and refused with a hint', () => {
    assert.throws(() => server.provider.decodeRequest(Buffer.from([0x04, 0x08, 0x7b, 0x00])), /legacy protocol/);
  });
});
