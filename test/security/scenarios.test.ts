/**
 * The four deployment scenarios of the aes_security spec (shared/seeds/004), one test per row of each capability
 * table. Every row is decided by trying it with real keys: an eavesdropper works from the wire bytes alone, an
 * attacker from keys it made itself, a rogue server from its own (or the shared) server key.
 * Scenarios 2 and 4 learn keys without a CA, which this project spells `insecure_learning = 1`.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createPublicKey } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Packr } from 'msgpackr';
import { aeadDecrypt, hmacSha256 } from '../../plugins/security/aes_security/primitives.js';
import { LABELS, decodeEnvelope } from '../../plugins/security/aes_security/v2/wire.js';
import { SecurityError } from '../../src/errors.js';
import { PROVEN_SENDER, type DecodedReply, type DecodedRequest } from '../../src/inter/message.js';
import { World, makeCa, request, type ProviderUnderTest } from './world.js';

const packr = new Packr({ useRecords: false, moreTypes: false });
const world = new World();
after(() => world.cleanup());

interface Scenario {
  title: string;
  sharedServerKey: boolean;
  automatic: boolean;
  rows: Array<[row: string, expected: boolean]>;
}

const ROWS = {
  clientsUnique: 'Clients are uniquely identified using cryptographic means',
  clientKeyHolderReads: 'Anyone with the client public key can observe request contents',
  clientKeyByListening: 'Attackers can gain access to the client public key by just listening on the network',
  repliesOnlyCaller: 'Replies back to the client are readable only by client that initiated the request',
  newClientCerts: 'Attackers can create new certificates and start using them to make requests as clients',
  serversUnique: 'Servers are uniquely identified using cryptographic means',
  serverKeyHolderReads: 'Anyone with the server public key can observe registration contents',
  serverKeyByListening: 'Attackers can gain access to the server public keys by just listening on the network',
  registrationProtected: 'Registration data can be protected from rogue agents posing as registration agents',
  newNodes: 'Attackers can create new nodes and inject registration data for those new nodes',
} as const;

const SCENARIOS: Scenario[] = [
  {
    title: 'Manual key distribution with each server and client having unique keys', sharedServerKey: false, automatic: false,
    rows: [[ROWS.clientsUnique, true], [ROWS.clientKeyHolderReads, true], [ROWS.clientKeyByListening, false], [ROWS.repliesOnlyCaller, true],
      [ROWS.newClientCerts, false], [ROWS.serversUnique, true], [ROWS.serverKeyHolderReads, true], [ROWS.serverKeyByListening, false],
      [ROWS.registrationProtected, true], [ROWS.newNodes, false]],
  },
  {
    title: 'Automatic public key distribution with each server and client having unique keys', sharedServerKey: false, automatic: true,
    rows: [[ROWS.clientsUnique, true], [ROWS.clientKeyHolderReads, true], [ROWS.clientKeyByListening, true], [ROWS.repliesOnlyCaller, true],
      [ROWS.newClientCerts, true], [ROWS.serversUnique, true], [ROWS.serverKeyHolderReads, true], [ROWS.serverKeyByListening, true],
      [ROWS.registrationProtected, true], [ROWS.newNodes, true]],
  },
  {
    title: 'Manual public key distribution with servers sharing a key pair and clients having unique keys', sharedServerKey: true, automatic: false,
    rows: [[ROWS.clientsUnique, true], [ROWS.clientKeyHolderReads, true], [ROWS.clientKeyByListening, false], [ROWS.repliesOnlyCaller, true],
      [ROWS.newClientCerts, false], [ROWS.serversUnique, false], [ROWS.serverKeyHolderReads, true], [ROWS.serverKeyByListening, false],
      [ROWS.registrationProtected, false]],
  },
  {
    title: 'Automatic public key distribution with servers sharing a key and client having unique keys', sharedServerKey: true, automatic: true,
    rows: [[ROWS.clientsUnique, true], [ROWS.clientKeyHolderReads, true], [ROWS.clientKeyByListening, true], [ROWS.repliesOnlyCaller, true],
      [ROWS.newClientCerts, true], [ROWS.serversUnique, false], [ROWS.serverKeyHolderReads, true], [ROWS.serverKeyByListening, true],
      [ROWS.registrationProtected, false]],
  },
];

/** One deployed scenario: a client, a second legitimate client, two servers, a registration receiver. */
interface Deployment {
  alice: ProviderUnderTest;
  mallory: ProviderUnderTest;
  node1: ProviderUnderTest;
  node2: ProviderUnderTest;
  receiver: ProviderUnderTest;
  alicePublicPem: string;
  node1PublicPem: string;
  attackerClient(name: string, fileName?: string): Promise<ProviderUnderTest>;
  attackerServer(name: string): Promise<ProviderUnderTest>;
  keyHolder(name: string, pem: string): ProviderUnderTest;
}

async function deploy(index: number, scenario: Scenario): Promise<Deployment> {
  const base = `s${index}`;
  const aes: Record<string, number | string> = scenario.automatic ? { send_pubkey: 1, learn_pubkeys: 1, insecure_learning: 1 } : { send_pubkey: 0, learn_pubkeys: 0 };
  // Where servers share a key, the fleet says so: their replies are accepted, marked as from an unproven sender.
  if (scenario.sharedServerKey) aes['shared_server_keys'] = 'server';
  const alice = await world.keys('alice', world.dir(`${base}/alice`));
  const mallory = await world.keys('mallory', world.dir(`${base}/mallory`));
  const shared = scenario.sharedServerKey ? await world.keys('server', world.dir(`${base}/shared`)) : undefined;
  const n1 = shared ?? await world.keys('node1', world.dir(`${base}/node1`));
  const n2 = shared ?? await world.keys('node2', world.dir(`${base}/node2`));
  const serverPublics: Array<[string, string]> = shared ? [['server', shared.publicPem]] : [['node1', n1.publicPem], ['node2', n2.publicPem]];
  const certDir = (owner: string, entries: Array<[string, string]>) => {
    const dir = world.dir(`${base}/${owner}-certs`);
    if (!scenario.automatic) for (const [name, pem] of entries) world.install(dir, name, pem);
    return dir;
  };
  const clients: Array<[string, string]> = [['alice', alice.publicPem], ['mallory', mallory.publicPem]];
  const client = (keys: { privatePath: string; publicPath: string }, owner: string) =>
    world.provider('client', { ...aes, client_private: keys.privatePath, client_public: keys.publicPath, server_cert_dir: certDir(owner, serverPublics) });
  const server = (keys: { privatePath: string; publicPath: string }, owner: string, entries: Array<[string, string]>) =>
    world.provider('server', { ...aes, server_private: keys.privatePath, server_public: keys.publicPath, client_cert_dir: certDir(owner, entries) });
  let attackers = 0;
  return {
    alice: client(alice, 'alice'),
    mallory: client(mallory, 'mallory'),
    node1: server(n1, 'node1', clients),
    node2: server(n2, 'node2', clients),
    receiver: server(await world.keys('receiver', world.dir(`${base}/receiver`)), 'receiver', [...clients, ...serverPublics]),
    alicePublicPem: alice.publicPem,
    node1PublicPem: n1.publicPem,
    async attackerClient(name, fileName = name) {
      const dir = world.dir(`${base}/attacker${++attackers}`);
      const keys = await world.keys(fileName, dir);
      return world.provider('client', { send_pubkey: 1, client_private: keys.privatePath, client_public: keys.publicPath, server_cert_dir: dir });
    },
    async attackerServer(name) {
      const dir = world.dir(`${base}/attacker${++attackers}`);
      const keys = await world.keys(name, dir);
      return world.provider('server', { send_pubkey: 1, server_private: keys.privatePath, server_public: keys.publicPath, client_cert_dir: dir });
    },
    keyHolder(name, pem) {
      const dir = world.dir(`${base}/holder${++attackers}`);
      world.install(dir, name, pem);
      return world.provider('server', { server_private: join(dir, 'none'), server_public: join(dir, 'none'), client_cert_dir: dir });
    },
  };
}

/** What an eavesdropper reads from wire bytes alone: the request payload when the sender's key rides along, else null. */
function eavesdrop(wire: Uint8Array): unknown {
  const { headerBytes, ciphertext } = decodeEnvelope(wire, 'request');
  const header = packr.unpack(headerBytes) as { pubkey?: string; iv: Uint8Array };
  if (header.pubkey === undefined) return null;
  const key = hmacSha256(LABELS.requestKey, createPublicKey(header.pubkey).export({ format: 'der', type: 'spki' }));
  const plaintext = aeadDecrypt(key, header.iv, ciphertext, headerBytes);
  return plaintext === null ? null : packr.unpack(plaintext);
}

/**
 * Runs `fn`: its result when it succeeds, null when it is refused with exactly the security error `code`.
 * Any other failure (another code, a crash) fails the test: a "no" must be the refusal the protocol promises.
 */
function attempt<T>(fn: () => T, code: string): T | null {
  try {
    return fn();
  } catch (error) {
    assert.ok(error instanceof SecurityError, `expected a refusal with ${code}, got ${String(error)}`);
    assert.equal(error.code, code, `refused, but with ${error.code} (${error.message}) instead of ${code}`);
    return null;
  }
}

function register(node: ProviderUnderTest, senderid: string): Uint8Array {
  return node.send(request({ agent: 'registration', senderid, body: { agentlist: ['rpcutil'], secret: `${senderid} facts` } }));
}

function reply(server: ProviderUnderTest, decoded: DecodedRequest, senderid: string): Uint8Array {
  return server.provider.encodeReply({ senderid, senderagent: 'rpcutil', body: { statuscode: 0, statusmsg: 'OK', data: { from: senderid, secret: 'reply secret' } } }, decoded);
}

/** How each row is observed on a deployment: returns the capability as found (true = "yes"). */
const OBSERVE: Record<string, (d: Deployment) => Promise<boolean>> = {
  async [ROWS.clientsUnique](d) {
    const genuine = d.node1.provider.decodeRequest(d.alice.send(request()));
    const forger = await d.attackerClient('alice');
    // Another key under the name alice: the installed (or learned) alice key has another key id.
    const forged = attempt(() => d.node1.provider.decodeRequest(forger.send(request())), 'TSC_SEC_UNKNOWN_SENDER');
    return genuine.callerid === 'cert=alice' && forged === null;
  },
  async [ROWS.clientKeyHolderReads](d) {
    const decoded = d.keyHolder('alice', d.alicePublicPem).provider.decodeRequest(d.alice.send(request()));
    return JSON.stringify(decoded.body).includes('launch codes');
  },
  async [ROWS.clientKeyByListening](d) {
    return JSON.stringify(eavesdrop(d.alice.send(request())) ?? '').includes('launch codes');
  },
  async [ROWS.repliesOnlyCaller](d) {
    const outgoing = request();
    const wire = reply(d.node1, d.node1.provider.decodeRequest(d.alice.send(outgoing)), 'node1');
    const byCaller = d.alice.receive(wire);
    d.mallory.send(request({ requestid: outgoing.requestid }));
    const byOtherClient = attempt(() => d.mallory.receive(wire), 'TSC_SEC_NOT_FOR_US');
    const byListener = Buffer.from(wire).includes('reply secret');
    return byCaller !== null && byOtherClient === null && !byListener;
  },
  async [ROWS.newClientCerts](d) {
    const eve = await d.attackerClient('eve');
    // Without learning, a key the server does not hold is unknown, even when the message carries it.
    return attempt(() => d.node1.provider.decodeRequest(eve.send(request())), 'TSC_SEC_UNKNOWN_SENDER') !== null;
  },
  async [ROWS.serversUnique](d) {
    // node2 answers a request as if it were node1: the client must prove node1's own reply and refuse the forgery.
    const genuine = d.alice.receive(reply(d.node1, d.node1.provider.decodeRequest(d.alice.send(request())), 'node1'));
    let forged: DecodedReply | null = null;
    let refusal: string | undefined;
    try {
      forged = d.alice.receive(reply(d.node2, d.node2.provider.decodeRequest(d.alice.send(request())), 'node1'));
    } catch (error) {
      refusal = (error as SecurityError).code;
    }
    if (PROVEN_SENDER.has(genuine.senderProof)) {
      assert.equal(refusal, 'TSC_SEC_IDENTITY_MISMATCH', 'a server key proving its own name must not sign as another server');
      return true;
    }
    // A shared key: both replies are accepted, and both are marked as carrying an unauthenticated sender name.
    assert.equal(genuine.senderProof, 'shared');
    assert.equal(forged?.senderProof, 'shared');
    return false;
  },
  async [ROWS.serverKeyHolderReads](d) {
    const name = d.node1.provider.callerid().slice('cert='.length);
    const decoded = d.keyHolder(name, d.node1PublicPem).provider.decodeRequest(register(d.node1, 'node1'));
    return JSON.stringify(decoded.body).includes('node1 facts');
  },
  async [ROWS.serverKeyByListening](d) {
    return JSON.stringify(eavesdrop(register(d.node1, 'node1')) ?? '').includes('node1 facts');
  },
  async [ROWS.registrationProtected](d) {
    // A rogue agent on node2 sends registration data posing as node1: can the receiver tell it from node1's own?
    const genuine = d.receiver.provider.decodeRequest(register(d.node1, 'node1'));
    const rogue = attempt(() => d.receiver.provider.decodeRequest(register(d.node2, 'node1')), 'TSC_SEC_IDENTITY_MISMATCH');
    return !(rogue !== null && rogue.callerid === genuine.callerid);
  },
  async [ROWS.newNodes](d) {
    const intruder = await d.attackerServer('newnode');
    return attempt(() => d.receiver.provider.decodeRequest(register(intruder, 'newnode')), 'TSC_SEC_UNKNOWN_SENDER') !== null;
  },
};

SCENARIOS.forEach((scenario, index) => {
  describe(`Scenario ${index + 1}: ${scenario.title}`, () => {
    let deployment: Deployment;
    before(async () => {
      deployment = await deploy(index + 1, scenario);
      // In the automatic scenarios keys travel on first use: one genuine exchange primes the caches.
      if (scenario.automatic) {
        const decoded = deployment.node1.provider.decodeRequest(deployment.alice.send(request()));
        deployment.alice.receive(reply(deployment.node1, decoded, 'node1'));
        deployment.alice.receive(reply(deployment.node2, deployment.node2.provider.decodeRequest(deployment.alice.send(request())), 'node2'));
        deployment.receiver.provider.decodeRequest(register(deployment.node1, 'node1'));
        deployment.receiver.provider.decodeRequest(register(deployment.node2, 'node2'));
      }
    });
    for (const [row, expected] of scenario.rows) {
      test(`${row}: ${expected ? 'yes' : 'no'}`, async () => {
        assert.equal(await OBSERVE[row]!(deployment), expected);
      });
    }
  });
});

describe('Beyond the seed: automatic distribution gated by a CA', () => {
  test('with ca_cert instead of insecure_learning, attackers cannot introduce self-made keys', async () => {
    const ca = await makeCa();
    const caPath = join(world.dir('ca-gated'), 'ca.pem');
    writeFileSync(caPath, ca.certPem);
    const server = world.provider('server', { learn_pubkeys: 1, ca_cert: caPath, server_private: '/x', server_public: '/x', client_cert_dir: world.dir('ca-gated/certs') });
    const eveKeys = await world.keys('eve', world.dir('ca-gated/eve'));
    const eve = world.provider('client', { send_pubkey: 1, client_private: eveKeys.privatePath, client_public: eveKeys.publicPath, server_cert_dir: world.dir('ca-gated/eve') });
    assert.equal(attempt(() => server.provider.decodeRequest(eve.send(request())), 'TSC_SEC_CA_REJECTED'), null);
  });
});
