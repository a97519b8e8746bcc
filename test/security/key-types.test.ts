/**
 * The key-type matrix: every key type (RSA-2048, RSA-4096, ECDSA P-256, Ed25519) as client and as server, in both
 * reply modes where they apply. rsa reply mode needs an RSA caller key: a client with another type is refused at
 * start-up with the setting to use, and a server refuses a (signed) request from such a key that asks for it.
 * Signatures follow the key: a signature made by one scheme never verifies as another's.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { KeyFileError, MalformedMessageError } from '../../src/errors.js';
import { generatePemKeyPair, type KeyType } from '../../src/keys/index.js';
import { GCM_IV_BYTES, aeadEncrypt, hmacSha256, signParts } from '../../plugins/security/aes_security/primitives.js';
import { parseKeySet } from '../../plugins/security/aes_security/keyring/public-key.js';
import { parsePrivateKey } from '../../plugins/security/aes_security/keyring/own-keys.js';
import { LABELS, decodeEnvelope, encodeEnvelope, pack, parseReplyHeader, parseRequestHeader } from '../../plugins/security/aes_security/v2/wire.js';
import { Packr } from 'msgpackr';
import { World, pairOf, request, type PemPair, type ProviderUnderTest } from './world.js';

const world = new World();
after(() => world.cleanup());

type Variant = 'rsa' | 'rsa4096' | 'p256' | 'ed25519';
const VARIANTS: Variant[] = ['rsa', 'rsa4096', 'p256', 'ed25519'];
const typeOf = (variant: Variant): KeyType => (variant === 'rsa4096' ? 'rsa' : variant);
const certDir = world.dir('certs');
const pairs = new Map<Variant, PemPair>();
const files = new Map<Variant, { client: { privatePath: string; publicPath: string }; server: { privatePath: string; publicPath: string } }>();

async function pairFor(variant: Variant): Promise<PemPair> {
  if (variant !== 'rsa4096') return pairOf(variant);
  const pair = await generatePemKeyPair('rsa', { bits: 4096 });
  return { privatePem: pair.privateKeyPem, publicPem: pair.publicKeyPem };
}

before(async () => {
  await Promise.all(VARIANTS.map(async (variant) => {
    const [clientPair, serverPair] = await Promise.all([pairFor(variant), pairFor(variant)]);
    pairs.set(variant, clientPair);
    const client = await world.keys(`client-${variant}`, world.dir('client-keys'), clientPair);
    const server = await world.keys(`server-${variant}`, world.dir('server-keys'), serverPair);
    world.install(certDir, `client-${variant}`, clientPair.publicPem);
    world.install(certDir, `server-${variant}`, serverPair.publicPem);
    files.set(variant, { client, server });
  }));
});

const clientOf = (variant: Variant, mode: 'rsa' | 'ephemeral'): ProviderUnderTest => {
  const { client } = files.get(variant)!;
  return world.provider('client', { client_private: client.privatePath, client_public: client.publicPath, server_cert_dir: certDir, reply_encryption: mode });
};
const serverOf = (variant: Variant, extra: Record<string, string | number> = {}): ProviderUnderTest => {
  const { server } = files.get(variant)!;
  return world.provider('server', { server_private: server.privatePath, server_public: server.publicPath, client_cert_dir: certDir, ...extra });
};

describe('every key type as client and as server', () => {
  for (const clientVariant of VARIANTS) {
    for (const serverVariant of VARIANTS) {
      for (const mode of ['rsa', 'ephemeral'] as const) {
        if (mode === 'rsa' && typeOf(clientVariant) !== 'rsa') continue;
        test(`client ${clientVariant}, server ${serverVariant}, ${mode} replies`, () => {
          const client = clientOf(clientVariant, mode);
          const server = serverOf(serverVariant);
          assert.deepEqual(client.provider.validate(), []);
          assert.deepEqual(server.provider.validate(), []);
          const outgoing = request();
          const decoded = server.provider.decodeRequest(client.send(outgoing));
          assert.equal(decoded.callerid, `cert=client-${clientVariant}`);
          assert.deepEqual(decoded.body, outgoing.body);
          const wire = server.provider.encodeReply({ senderid: `server-${serverVariant}`, senderagent: 'rpcutil', body: { pong: serverVariant } }, decoded);
          const header = parseReplyHeader(decodeEnvelope(wire, 'reply').headerBytes);
          assert.equal(header.mode, mode);
          const reply = client.receive(wire);
          assert.equal(reply.signer, `cert=server-${serverVariant}`);
          assert.equal(reply.senderProof, 'key-name');
          assert.deepEqual(reply.body, { pong: serverVariant });
        });
      }
    }
  }
});

describe('reply mode rsa needs an RSA caller key', () => {
  for (const variant of ['p256', 'ed25519'] as const) {
    test(`a ${variant} client with reply_encryption = rsa is refused at start-up, naming the setting to use`, () => {
      const client = clientOf(variant, 'rsa');
      const problems = client.provider.validate();
      assert.ok(problems.some((p) => p.includes('plugin.aes.client_private is not an RSA key') && p.includes('plugin.aes.reply_encryption = ephemeral')), problems.join('\n'));
      assert.throws(() => client.send(request()), KeyFileError);
    });
  }

  test('a server refuses a signed request from an Ed25519 key that asks for rsa replies', () => {
    // What a modified client could send: everything valid and signed, but a reply mode its key cannot receive.
    const pair = pairs.get('ed25519')!;
    const publicKey = parseKeySet(pair.publicPem, 'client-ed25519.pem').entries[0]!;
    const privateKey = parsePrivateKey(pair.privatePem, 'client-ed25519-private.pem');
    const iv = randomBytes(GCM_IV_BYTES);
    const headerBytes = pack({
      requestid: randomBytes(16).toString('hex'), senderid: 'client.example.net', callerid: 'cert=client-ed25519', agent: 'rpcutil',
      collective: 'mcollective', ttl: 60, msgtime: Math.floor(world.clock / 1000), kid: publicKey.kid, serializer: 'msgpack', iv, reply: { mode: 'rsa' },
    });
    const ciphertext = aeadEncrypt(hmacSha256(LABELS.requestKey, publicKey.spki), iv, new Packr({ useRecords: false }).pack({ filter: {}, body: 1 }), headerBytes);
    const signature = signParts('ed25519', privateKey.key, [LABELS.requestSignature, headerBytes, ciphertext]);
    const server = serverOf('rsa');
    assert.throws(() => server.provider.decodeRequest(encodeEnvelope('request', headerBytes, ciphertext, signature)),
      (error: unknown) => error instanceof MalformedMessageError && /asks for rsa reply encryption, but its key [0-9a-f]{32} is ed25519/.test(error.message));
  });

  test('a server with an Ed25519 key asks for ephemeral replies to its own requests (registration)', () => {
    const server = serverOf('ed25519');
    const wire = server.send(request({ agent: 'registration', senderid: 'server-ed25519' }));
    assert.equal(parseRequestHeader(decodeEnvelope(wire, 'request').headerBytes).reply.mode, 'ephemeral');
    const collector = serverOf('p256');
    const decoded = collector.provider.decodeRequest(wire);
    assert.equal(decoded.senderProof, 'key-name');
    const ack = collector.provider.encodeReply({ senderid: 'server-p256', senderagent: 'registration', body: { stored: true } }, decoded);
    assert.deepEqual(server.receive(ack).body, { stored: true });
    // An RSA server keeps asking for rsa replies, as before.
    const rsaWire = serverOf('rsa').send(request({ agent: 'registration', senderid: 'server-rsa' }));
    assert.equal(parseRequestHeader(decodeEnvelope(rsaWire, 'request').headerBytes).reply.mode, 'rsa');
  });
});

describe('signatures follow the key type', () => {
  test('a signature is refused when the signer\'s file holds a key of another type under the same key id lookup', () => {
    // Swap the installed key of client-p256 for an Ed25519 one: the message's key id is no longer in the file.
    const client = clientOf('p256', 'ephemeral');
    const wire = client.send(request());
    const dir = world.dir('swapped');
    world.install(dir, 'client-p256', pairs.get('ed25519')!.publicPem);
    const server = world.provider('server', { server_private: files.get('rsa')!.server.privatePath, server_public: files.get('rsa')!.server.publicPath, client_cert_dir: dir });
    assert.throws(() => server.provider.decodeRequest(wire), /signed by key id [0-9a-f]{32}, which .* does not hold/);
  });

  test('every type\'s signature lengths: RSA modulus bytes, 64 for P-256 (r || s) and Ed25519', () => {
    for (const variant of VARIANTS) {
      const wire = clientOf(variant, 'ephemeral').send(request());
      const expected = { rsa: 256, rsa4096: 512, p256: 64, ed25519: 64 }[variant];
      assert.equal(decodeEnvelope(wire, 'request').signature.length, expected, variant);
    }
  });
});
