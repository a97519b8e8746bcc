/**
 * The client against a trusted but compromised server, with the real aes_security provider over the memory bus:
 * node2's own valid key signs replies as node1 (and as a node that does not exist). The client must refuse them
 * (counted as client.replies.rejected.TSC_SEC_IDENTITY_MISMATCH), keep node1's real reply, and never list a
 * phantom in a ping. With a shared server key the replies are kept but marked, in text and in JSON.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { MemoryBroker, MemoryConnector } from '../../plugins/connector/memory/index.js';
import { RpcClient } from '../../src/client/index.js';
import { formatReply, jsonDocument } from '../../src/cli/tsco/output.js';
import type { Connector, InboundMessage } from '../../src/inter/connector.js';
import { MemoryCounters } from '../../src/util/counters.js';
import { CapturingLogger } from '../../src/util/log.js';
import { World, type ProviderUnderTest } from '../security/world.js';

const world = new World();
after(() => world.cleanup());

/** One reply a node sends: as whom, after how long. */
interface Answer { senderid: string; delayMs?: number }

/** A server on the memory bus answering every request (pings included) with the scripted answers, signed by its key. */
class ScriptedServer {
  readonly connector: Connector;
  constructor(readonly identity: string, broker: MemoryBroker, private readonly security: ProviderUnderTest, private readonly answers: Answer[]) {
    this.connector = new MemoryConnector({ identity, broker, logger: new CapturingLogger(), counters: new MemoryCounters() });
  }

  async start(): Promise<void> {
    await this.connector.connect();
    for (const agent of ['discovery', 'echo']) await this.connector.subscribeBroadcast('mcollective', agent, (m) => this.handle(m));
    await this.connector.subscribeDirected('mcollective', this.identity, (m) => this.handle(m));
  }

  private async handle(message: InboundMessage): Promise<void> {
    const request = this.security.provider.decodeRequest(message.body);
    for (const { senderid, delayMs } of this.answers) {
      if (delayMs) await sleep(delayMs);
      const body = { statuscode: 0, statusmsg: 'OK', data: { answered_by: this.identity } };
      await this.connector.publishReply(message.replyTo!, this.security.provider.encodeReply({ senderid, senderagent: request.agent, body }, request), 60);
    }
  }
}

interface Fleet {
  client: RpcClient;
  counters: MemoryCounters;
  stop(): Promise<void>;
}

/** Starts servers (key name, identity, answers) and a client trusting their keys. */
async function fleet(label: string, servers: Array<{ key: string; identity: string; answers: Answer[] }>, clientAes: Record<string, string> = {}): Promise<Fleet> {
  const broker = new MemoryBroker({ name: `impersonation-${label}` });
  const certDir = world.dir(`${label}/certs`);
  const alice = await world.keys('alice', world.dir(`${label}/alice`));
  const keys = new Map<string, Awaited<ReturnType<World['keys']>>>();
  const started: ScriptedServer[] = [];
  for (const spec of servers) {
    let key = keys.get(spec.key);
    if (!key) {
      key = await world.keys(spec.key, world.dir(`${label}/${spec.key}`));
      keys.set(spec.key, key);
      world.install(certDir, spec.key, key.publicPem);
    }
    const trust = world.dir(`${label}/${spec.identity}-trust`);
    world.install(trust, 'alice', alice.publicPem);
    const security = world.provider('server', { server_private: key.privatePath, server_public: key.publicPath, client_cert_dir: trust });
    const server = new ScriptedServer(spec.identity, broker, security, spec.answers);
    await server.start();
    started.push(server);
  }
  const security = world.provider('client', { client_private: alice.privatePath, client_public: alice.publicPath, server_cert_dir: certDir, ...clientAes });
  const connector = new MemoryConnector({ identity: 'tester', broker, logger: new CapturingLogger(), counters: new MemoryCounters() });
  await connector.connect();
  const counters = new MemoryCounters();
  const client = new RpcClient({
    identity: 'tester', connector, security: security.provider, logger: new CapturingLogger(), counters, mainCollective: 'mcollective',
    discoveryTimeoutMs: 400, timeoutMs: 1000,
  });
  return {
    client, counters,
    async stop() {
      await client.close();
      await connector.disconnect();
      await Promise.all(started.map((server) => server.connector.disconnect()));
    },
  };
}

describe('a compromised server posing as another', () => {
  let f: Fleet;
  before(async () => {
    f = await fleet('unique', [
      // node1 answers late, so node2's forgery arrives first and would have won the de-duplication.
      { key: 'node1', identity: 'node1', answers: [{ senderid: 'node1', delayMs: 80 }] },
      { key: 'node2', identity: 'node2', answers: [{ senderid: 'node1' }, { senderid: 'ghost' }, { senderid: 'node2' }] },
    ]);
  });
  after(() => f.stop());

  test('its replies as node1 are refused and counted; node1 keeps its real reply', async () => {
    const result = await f.client.call('echo', 'run', {}, { nodes: ['node1', 'node2'] });
    const items = result.items.map((item) => [item.sender, item.data['answered_by'], item.signer, item.senderProof]);
    assert.deepEqual(items.sort(), [['node1', 'node1', 'cert=node1', 'key-name'], ['node2', 'node2', 'cert=node2', 'key-name']]);
    assert.deepEqual(result.stats.noResponses, []);
    assert.ok(f.counters.get('client.replies.rejected.TSC_SEC_IDENTITY_MISMATCH') >= 2, 'the forged node1 and ghost replies are counted');
  });

  test('ping lists the real nodes only, never a phantom', async () => {
    const before = f.counters.get('client.replies.rejected.TSC_SEC_IDENTITY_MISMATCH');
    const result = await f.client.ping();
    assert.deepEqual(result.replies.map((reply) => reply.sender).sort(), ['node1', 'node2']);
    for (const reply of result.replies) assert.equal(reply.senderProof, 'key-name');
    assert.equal(f.counters.get('client.replies.rejected.TSC_SEC_IDENTITY_MISMATCH') - before, 2);
    assert.deepEqual((await f.client.discover()).sort(), ['node1', 'node2']);
  });
});

describe('servers sharing one key (scenarios 3 and 4)', () => {
  let f: Fleet;
  before(async () => {
    f = await fleet('shared', [
      { key: 'servers', identity: 'web1', answers: [{ senderid: 'web1' }] },
      { key: 'servers', identity: 'web2', answers: [{ senderid: 'web2' }] },
      // A node with a key of its own, and a shared-key holder claiming to be it first.
      { key: 'db1', identity: 'db1', answers: [{ senderid: 'db1', delayMs: 80 }] },
      { key: 'servers', identity: 'web3', answers: [{ senderid: 'db1' }] },
    ], { shared_server_keys: 'servers' });
  });
  after(() => f.stop());

  test('replies are kept but marked as from an unauthenticated sender, in text and in JSON', async () => {
    const result = await f.client.call('echo', 'run', {}, { nodes: ['web1', 'web2'] });
    assert.deepEqual(result.items.map((item) => [item.sender, item.senderProof]).sort(), [['web1', 'shared'], ['web2', 'shared']]);
    const text = result.items.map(formatReply).join('');
    assert.match(text, /^web1 \[unauthenticated name: signed by shared key cert=servers\]$/m);
    assert.match(text, /^web2 \[unauthenticated name: signed by shared key cert=servers\]$/m);
    const doc = JSON.parse(jsonDocument(result.items, result.stats)) as { items: Array<Record<string, unknown>> };
    for (const item of doc.items) {
      assert.equal(item['signer'], 'cert=servers');
      assert.equal(item['sender_proof'], 'shared');
      assert.equal(item['sender_authenticated'], false);
    }
  });

  test("a shared-key reply claiming a node never shadows that node's proven reply", async () => {
    const result = await f.client.call('echo', 'run', {}, { nodes: ['db1', 'web3'] });
    const db1 = result.items.filter((item) => item.sender === 'db1').map((item) => [item.data['answered_by'], item.senderProof]);
    assert.deepEqual(db1.sort(), [['db1', 'key-name'], ['web3', 'shared']]);
    const ping = await f.client.ping();
    const proven = ping.replies.filter((reply) => reply.senderProof === 'key-name').map((reply) => reply.sender);
    assert.deepEqual(proven, ['db1']);
  });
});
