/**
 * aes_security: the identity a reply (or a server's own request, such as registration) is attributed to must be
 * proven by the key that signed it: the key's name, its certificate's CN or subjectAltName, plugin.aes.identity_map,
 * or (marked as unproven) plugin.aes.shared_server_keys. Every test here plays a trusted but compromised server.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { IdentityMismatchError } from '../../src/errors.js';
import type { DecodedReply } from '../../src/inter/message.js';
import { World, makeCa, request, type ProviderUnderTest } from './world.js';

const world = new World();
after(() => world.cleanup());

let certDir: string;
let clientKeys: { privatePath: string; publicPath: string; publicPem: string };
const servers: Record<string, ProviderUnderTest> = {};

/** A server whose key is `keyName` (public file or certificate at `publicPath`), trusting the client. */
async function server(keyName: string, certificate?: (publicPem: string) => Promise<string>): Promise<ProviderUnderTest> {
  const dir = world.dir(`server-${keyName}`);
  const keys = await world.keys(keyName, dir);
  let publicPem = keys.publicPem;
  if (certificate) {
    publicPem = await certificate(keys.publicPem);
    writeFileSync(keys.publicPath, publicPem);
  }
  world.install(certDir, keyName, publicPem);
  const clientCerts = world.dir(`server-${keyName}-trust`);
  world.install(clientCerts, 'alice', clientKeys.publicPem);
  return world.provider('server', { server_private: keys.privatePath, server_public: keys.publicPath, client_cert_dir: clientCerts });
}

function client(extra: Record<string, string | number> = {}): ProviderUnderTest {
  return world.provider('client', { client_private: clientKeys.privatePath, client_public: clientKeys.publicPath, server_cert_dir: certDir, ...extra });
}

/** `from` answers a request of `to` with senderid `senderid`; returns the decoded reply or the refusal. */
function answer(to: ProviderUnderTest, from: ProviderUnderTest, senderid: string): DecodedReply {
  const decoded = from.provider.decodeRequest(to.send(request()));
  return to.receive(from.provider.encodeReply({ senderid, senderagent: 'rpcutil', body: { statuscode: 0, statusmsg: 'OK', data: {} } }, decoded));
}

before(async () => {
  certDir = world.dir('server-certs');
  clientKeys = await world.keys('alice', world.dir('alice'));
  const ca = await makeCa('Fleet CA');
  servers['node1'] = await server('node1');
  servers['node2'] = await server('node2');
  servers['edge'] = await server('edge', (pem) => ca.issue('edge', pem, { dnsNames: ['node5', 'node6.example.com'] }));
  servers['mapper'] = await server('mapper');
  servers['servers'] = await server('servers');
});

describe('replies', () => {
  test('a server key proves its own name: key-name', () => {
    const reply = answer(client(), servers['node1']!, 'node1');
    assert.equal(reply.senderProof, 'key-name');
    assert.equal(reply.signer, 'cert=node1');
  });

  test("a trusted server's valid key signing a reply as another node is refused, naming both", () => {
    const alice = client();
    assert.throws(() => answer(alice, servers['node2']!, 'node1'), (error: unknown) => {
      assert.ok(error instanceof IdentityMismatchError);
      assert.equal(error.code, 'TSC_SEC_IDENTITY_MISMATCH');
      assert.match(error.message, /cert=node2 is not bound to identity node1/);
      return true;
    });
    // A node that does not exist is refused the same way: no phantoms.
    assert.throws(() => answer(alice, servers['node2']!, 'ghost'), IdentityMismatchError);
  });

  test('a certificate naming the identity in a subjectAltName proves it: certificate', () => {
    const alice = client();
    assert.equal(answer(alice, servers['edge']!, 'node5').senderProof, 'certificate');
    assert.equal(answer(alice, servers['edge']!, 'node6.example.com').senderProof, 'certificate');
    assert.equal(answer(alice, servers['edge']!, 'edge').senderProof, 'key-name');
    assert.throws(() => answer(alice, servers['edge']!, 'node7'), IdentityMismatchError);
    // Certificate names count only for exact names: no case folding.
    assert.throws(() => answer(alice, servers['edge']!, 'NODE5'), IdentityMismatchError);
  });

  test('certificate names do not count when keys may be learned without a CA', () => {
    const learning = client({ learn_pubkeys: 1, insecure_learning: 1 });
    assert.throws(() => answer(learning, servers['edge']!, 'node5'), /certificate names do not count while keys are learned without a CA/);
  });

  test('identity_map lets a key speak for exact identities and whole-identity /regex/ matches, re-read when it changes', () => {
    const mapPath = join(world.dir('maps'), 'identity.map');
    writeFileSync(mapPath, '# key       identities\nmapper   db1 /web\\d+/   # web servers behind one key\n');
    const alice = client({ identity_map: mapPath, key_recheck_interval: 0 });
    assert.deepEqual(alice.provider.validate(), []);
    assert.equal(answer(alice, servers['mapper']!, 'db1').senderProof, 'mapping');
    assert.equal(answer(alice, servers['mapper']!, 'web12').senderProof, 'mapping');
    assert.throws(() => answer(alice, servers['mapper']!, 'xweb12'), IdentityMismatchError, 'a /regex/ must match the whole identity');
    assert.throws(() => answer(alice, servers['mapper']!, 'db2'), IdentityMismatchError);
    assert.throws(() => answer(alice, servers['node2']!, 'db1'), IdentityMismatchError, 'the map names keys, not anyone');
    writeFileSync(mapPath, 'mapper db2\n');
    world.clock += 10;
    assert.equal(answer(alice, servers['mapper']!, 'db2').senderProof, 'mapping');
    assert.throws(() => answer(alice, servers['mapper']!, 'db1'), IdentityMismatchError);
  });

  test('a broken identity_map is reported by validate() with every bad line, and maps nothing at run time', () => {
    const mapPath = join(world.dir('maps'), 'broken.map');
    writeFileSync(mapPath, 'mapper db1\n.hidden db2\nmapper /(unclosed/\nmapper bad!name\nlonely\n');
    const alice = client({ identity_map: mapPath });
    const problems = alice.provider.validate().join('\n');
    for (const line of [2, 3, 4, 5]) assert.match(problems, new RegExp(`broken\\.map:${line}: `));
    assert.throws(() => answer(alice, servers['mapper']!, 'db1'), IdentityMismatchError);
    assert.match(client({ identity_map: join(world.root, 'missing.map') }).provider.validate().join('\n'), /plugin\.aes\.identity_map .*missing\.map does not exist/);
  });

  test('a key listed in shared_server_keys is accepted for any identity, marked shared (not proven)', () => {
    const alice = client({ shared_server_keys: 'servers,other' });
    assert.equal(answer(alice, servers['servers']!, 'nodeA').senderProof, 'shared');
    assert.equal(answer(alice, servers['servers']!, 'servers').senderProof, 'shared', 'a shared key proves no name, not even its own');
    assert.equal(answer(alice, servers['node1']!, 'node1').senderProof, 'key-name');
    assert.throws(() => answer(client(), servers['servers']!, 'nodeA'), IdentityMismatchError);
    assert.match(client({ shared_server_keys: 'fine, bad!name' }).provider.validate().join('\n'), /shared_server_keys.*"bad!name" is not a valid key name/);
  });
});

describe('requests', () => {
  test('a server request (registration) carries the proof of its senderid; decodeRequest never refuses for it', async () => {
    const receiverCerts = world.dir('receiver-certs');
    for (const name of ['node1', 'node2', 'edge', 'servers']) world.install(receiverCerts, name, readFileSync(join(certDir, `${name}.pem`), 'utf8'));
    const receiver = world.provider('server', { server_private: '/x', server_public: '/x', client_cert_dir: receiverCerts, shared_server_keys: 'servers' });
    const register = (from: ProviderUnderTest, senderid: string) =>
      receiver.provider.decodeRequest(from.send(request({ agent: 'registration', senderid }))).senderProof;
    assert.equal(register(servers['node1']!, 'node1'), 'key-name');
    assert.equal(register(servers['node2']!, 'node1'), 'none');
    assert.equal(register(servers['edge']!, 'node5'), 'certificate');
    assert.equal(register(servers['servers']!, 'nodeA'), 'shared');
  });

  test("a client's request names its host, which its key does not prove: none", () => {
    const receiver = servers['node1']!;
    assert.equal(receiver.provider.decodeRequest(client().send(request({ senderid: 'workstation' }))).senderProof, 'none');
  });
});
