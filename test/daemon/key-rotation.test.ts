/**
 * Key rotation end to end with real daemons (aes_security over the memory bus): the servers trust the client's old
 * and new keys; the client rotates (`tsco keys rotate`'s library); requests signed with either key are accepted
 * during the overlap; a reply in flight across the rotation decodes; after `retire` the old key is refused without
 * a restart, and at once on SIGHUP where keys are cached longer; a server rotates its own key and its replies stay
 * accepted; revoking the client's new key stops it everywhere without a restart.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MemoryBroker, MemoryConnector } from '../../plugins/connector/memory/index.js';
import '../../plugins/security/aes_security/index.js';
import { configFromObject } from '../../src/config/index.js';
import { startDaemon, type DaemonHandle } from '../../src/daemon/index.js';
import type { DecodedReply, RpcReplyBody } from '../../src/inter/message.js';
import type { ReplyHandle, SecurityProvider } from '../../src/inter/security.js';
import { appendRevocation, generateKeyPairFiles, retireKey, rotateKeyPair, type KeyPairFiles } from '../../src/keys/index.js';
import { createSecurityProvider } from '../../src/security/registry.js';
import { decodeEnvelope, parseReplyHeader } from '../../plugins/security/aes_security/v2/wire.js';
import { CapturingLogger } from '../../src/util/log.js';
import { MemoryCounters } from '../../src/util/counters.js';
import { filter, tempDir, waitFor } from './helpers.js';

const dir = tempDir('rotation');
const broker = new MemoryBroker({ name: `rotation-${process.pid}` });
const serverCerts = join(dir, 'server-certs');
const clientCerts = join(dir, 'client-certs');
const revokedPath = join(dir, 'revoked');

/** A client on the bus that keeps the raw replies, so a test decides when each is decoded. */
class CapturingClient {
  readonly raw: Uint8Array[] = [];
  readonly handles = new Map<string, ReplyHandle>();
  private readonly connector = new MemoryConnector({ identity: `op-${randomBytes(3).toString('hex')}`, logger: new CapturingLogger(), counters: new MemoryCounters(), broker });
  private replyTo = '';

  constructor(readonly security: SecurityProvider) {}

  async start(): Promise<void> {
    await this.connector.connect();
    this.replyTo = (await this.connector.subscribeReplies('mcollective', (message) => { this.raw.push(message.body); })).replyTo;
  }

  /** Sends rpcutil#ping to `node`; returns the request id. */
  async ping(node: string): Promise<string> {
    const requestid = randomBytes(16).toString('hex');
    const { wire, handle } = this.security.encodeRequest({
      requestid, senderid: 'operator', agent: 'rpcutil', collective: 'mcollective', filter: filter({ identity: [node] }), ttl: 60, body: { action: 'ping', data: {} },
    });
    this.handles.set(requestid, handle);
    await this.connector.publishRequest({ collective: 'mcollective', agent: 'rpcutil', node, body: wire, ttl: 60, replyTo: this.replyTo });
    return requestid;
  }

  /** Decodes every captured reply now; returns those to `requestid`. */
  decode(requestid: string): DecodedReply[] {
    return this.raw.map((wire) => this.security.decodeReply(wire, (id) => this.handles.get(id))).filter((reply) => reply.requestid === requestid);
  }

  /** Pings `node` and waits for its reply, decoded. */
  async call(node: string): Promise<DecodedReply & { body: RpcReplyBody }> {
    const before = this.raw.length;
    const requestid = await this.ping(node);
    await waitFor(() => this.raw.length > before, `a reply from ${node}`);
    const [reply] = this.decode(requestid);
    assert.ok(reply, `the reply to ${requestid}`);
    return reply as DecodedReply & { body: RpcReplyBody };
  }

  async stop(): Promise<void> {
    await this.connector.disconnect();
  }
}

function clientSecurity(privatePath: string, publicPath: string): SecurityProvider {
  const config = configFromObject({
    'plugin.aes.client_private': privatePath, 'plugin.aes.client_public': publicPath, 'plugin.aes.server_cert_dir': clientCerts,
    'plugin.aes.key_recheck_interval': 0, 'plugin.aes.revoked_keys': revokedPath,
  });
  return createSecurityProvider('aes_security', { config, role: 'client', logger: new CapturingLogger(), counters: new MemoryCounters() });
}

async function daemon(identity: string, key: KeyPairFiles, recheckSeconds: number): Promise<{ daemon: DaemonHandle; logger: CapturingLogger }> {
  const logger = new CapturingLogger();
  const config = configFromObject({
    identity, collectives: 'mcollective', connector: 'memory', securityprovider: 'aes_security', 'plugin.yaml': join(dir, 'none.yaml'),
    'plugin.aes.server_private': key.privatePath, 'plugin.aes.server_public': key.publicPath, 'plugin.aes.client_cert_dir': serverCerts,
    'plugin.aes.key_recheck_interval': recheckSeconds, 'plugin.aes.revoked_keys': revokedPath, statedir: join(dir, 'state', identity),
  }, { source: join(dir, `${identity}.cfg`) });
  const started = await startDaemon(config, { connector: new MemoryConnector({ identity, logger, counters: new MemoryCounters(), broker }), logger });
  return { daemon: started, logger };
}

/** Waits for `node` to refuse one more request, and returns the refusal's log message. */
async function refusal(node: { daemon: DaemonHandle; logger: CapturingLogger }, before: number): Promise<string> {
  await waitFor(() => node.daemon.stats().unvalidated > before, 'the refusal');
  return node.logger.find('warn', 'request refused by the security provider').at(-1)!.msg;
}

describe('key rotation with running daemons', () => {
  const keys = join(dir, 'keys');
  let alice: KeyPairFiles, node1Key: KeyPairFiles, node2Key: KeyPairFiles;
  let node1: Awaited<ReturnType<typeof daemon>>, node2: Awaited<ReturnType<typeof daemon>>;
  const distribute = () => copyFileSync(alice.publicPath, join(serverCerts, 'alice.pem'));

  before(async () => {
    mkdirSync(serverCerts, { recursive: true });
    mkdirSync(clientCerts, { recursive: true });
    writeFileSync(revokedPath, '# revoked key ids\n');
    [alice, node1Key, node2Key] = await Promise.all([
      generateKeyPairFiles('alice', { dir: keys }), generateKeyPairFiles('node1', { dir: join(dir, 'node1') }), generateKeyPairFiles('node2', { dir: join(dir, 'node2'), type: 'ed25519' }),
    ]);
    distribute();
    copyFileSync(node1Key.publicPath, join(clientCerts, 'node1.pem'));
    copyFileSync(node2Key.publicPath, join(clientCerts, 'node2.pem'));
    // node1 re-reads changed key files on every use; node2 caches them for an hour (only SIGHUP refreshes them).
    [node1, node2] = await Promise.all([daemon('node1', node1Key, 0), daemon('node2', node2Key, 3600)]);
  });

  after(async () => {
    await node1?.daemon.stop();
    await node2?.daemon.stop();
  });

  test('overlap, in-flight reply, retirement without restart and on SIGHUP', async () => {
    const client = new CapturingClient(clientSecurity(alice.privatePath, alice.publicPath));
    await client.start();
    assert.equal((await client.call('node1')).body.statuscode, 0);
    assert.equal((await client.call('node2')).signer, 'cert=node2');

    // A request signed with the old key, whose reply is still undecoded when the client rotates.
    const before = client.raw.length;
    const inFlight = await client.ping('node1');
    await waitFor(() => client.raw.length > before, 'the in-flight reply');
    const rotated = await rotateKeyPair('alice', { dir: keys, type: 'p256' });
    distribute();
    await node2.daemon.reload();
    const [late] = client.decode(inFlight);
    assert.equal((late!.body as RpcReplyBody).statuscode, 0, 'the reply sealed to the old key still opens');

    // The rotated client now signs with the new (P-256) key: rsa replies need an RSA key, so it asks for ephemeral ones.
    const rotatedClient = new CapturingClient(createSecurityProvider('aes_security', {
      config: configFromObject({
        'plugin.aes.client_private': alice.privatePath, 'plugin.aes.client_public': alice.publicPath, 'plugin.aes.server_cert_dir': clientCerts,
        'plugin.aes.reply_encryption': 'ephemeral', 'plugin.aes.revoked_keys': revokedPath,
      }), role: 'client', logger: new CapturingLogger(), counters: new MemoryCounters(),
    }));
    await rotatedClient.start();
    // Overlap: a machine still holding the old key (a copy) and the rotated one are both accepted by both servers.
    const oldDir = join(dir, 'old-laptop');
    mkdirSync(oldDir, { recursive: true });
    writeFileSync(join(oldDir, 'alice-private.pem'), readFileSync(join(keys, `alice-private.${rotated.oldKid}.pem`)), { mode: 0o600 });
    copyFileSync(alice.publicPath, join(oldDir, 'alice.pem'));
    const oldLaptop = new CapturingClient(clientSecurity(join(oldDir, 'alice-private.pem'), join(oldDir, 'alice.pem')));
    await oldLaptop.start();
    for (const node of ['node1', 'node2']) {
      assert.equal((await rotatedClient.call(node)).body.statuscode, 0);
      assert.equal((await oldLaptop.call(node)).body.statuscode, 0);
    }

    // Retirement: node1 refuses the old key as soon as it reads the new file, naming the key id; node2 (cached) on SIGHUP.
    await retireKey('alice', rotated.oldKid, { dir: keys });
    distribute();
    const unvalidated1 = node1.daemon.stats().unvalidated;
    await oldLaptop.ping('node1');
    assert.match(await refusal(node1, unvalidated1), new RegExp(`signed by key id ${rotated.oldKid}, which .* does not hold`));
    assert.equal((await oldLaptop.call('node2')).body.statuscode, 0, 'node2 still has the old file cached');
    await node2.daemon.reload();
    const unvalidated2 = node2.daemon.stats().unvalidated;
    await oldLaptop.ping('node2');
    assert.match(await refusal(node2, unvalidated2), new RegExp(`signed by key id ${rotated.oldKid}`));
    assert.equal(node2.daemon.stats().security['TSC_SEC_UNKNOWN_SENDER'], 1);
    assert.equal((await rotatedClient.call('node2')).body.statuscode, 0);

    // Revocation of the new key stops it at once on node1, and on node2 once it re-reads the list (SIGHUP here).
    await appendRevocation(revokedPath, rotated.newKid, 'test');
    const refused1 = node1.daemon.stats().unvalidated;
    await rotatedClient.ping('node1');
    assert.match(await refusal(node1, refused1), new RegExp(`key ${rotated.newKid} is revoked`));
    assert.equal(node1.daemon.stats().security['TSC_SEC_REVOKED'], 1);
    await node2.daemon.reload();
    const refused2 = node2.daemon.stats().unvalidated;
    await rotatedClient.ping('node2');
    assert.match(await refusal(node2, refused2), /TSC_SEC_REVOKED|is revoked/);
    for (const c of [client, rotatedClient, oldLaptop]) await c.stop();
  });

  test('a server rotates its key: replies signed by the new key are accepted by a client holding both', async () => {
    writeFileSync(revokedPath, '');
    const fresh = await generateKeyPairFiles('bob', { dir: join(dir, 'bob') });
    copyFileSync(fresh.publicPath, join(serverCerts, 'bob.pem'));
    await node2.daemon.reload();
    const client = new CapturingClient(clientSecurity(fresh.privatePath, fresh.publicPath));
    await client.start();
    const rotated = await rotateKeyPair('node1', { dir: join(dir, 'node1'), type: 'ed25519' });
    // node1 re-reads its own key files (recheck 0) and signs with the new key; the client holds both keys.
    copyFileSync(node1Key.publicPath, join(clientCerts, 'node1.pem'));
    const reply = await client.call('node1');
    assert.equal(reply.signer, 'cert=node1');
    assert.equal(reply.senderProof, 'key-name');
    assert.equal(parseReplyHeader(decodeEnvelope(client.raw.at(-1)!, 'reply').headerBytes).kid, rotated.newKid);
    await client.stop();
  });
});
