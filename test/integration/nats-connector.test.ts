/**
 * The nats connector's own promises (docs/connectors.md, "nats"): its settings and their problems, the subject
 * layout and the names it cannot carry, what goes on the wire (mc_sender and mc_expires as NATS headers, the
 * reply subject as the NATS reply), expired messages dropped on receipt, and a private nats-server's permissions
 * turning into errors: a denied publish is a PublishError naming the subject, a denied subscription a
 * ConnectionError. The shared server (127.0.0.1:4222) is only used, never reconfigured.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { connect, headers as natsHeaders } from '@nats-io/transport-node';
import {
  broadcastSubject, checkReplySubject, createNatsConnector, directedSubject, natsConfigSchema, readNatsOptions, replySubject,
} from '../../plugins/connector/nats/index.js';
import { configFromObject } from '../../src/config/index.js';
import { connectorNames } from '../../src/connector/registry.js';
import { ConnectionError, InvalidArgumentError, PublishError } from '../../src/errors.js';
import type { Connector, InboundMessage } from '../../src/inter/connector.js';
import { MemoryCounters } from '../../src/util/counters.js';
import { CapturingLogger } from '../../src/util/log.js';
import { NATS, PrivateNatsServer, natsGate, natsServerGate, natsTestSettings } from './harness/nats.js';

// Probed before any test is declared: tests declared after an await would not run.
const shared = await natsGate();
const privateServer = natsServerGate();
const run = randomBytes(3).toString('hex');
const collective = `natsconn${run}`;

function make(identity: string, settings: Record<string, string | number | boolean> = natsTestSettings()) {
  const logger = new CapturingLogger();
  const counters = new MemoryCounters();
  const connector = createNatsConnector({ config: configFromObject(settings, { source: 'nats-connector.test' }), identity, logger, counters });
  return { connector, logger, counters };
}

async function eventually(condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) assert.fail(`timed out after ${timeoutMs} ms waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('nats settings and names', () => {
  test('the connector is registered, with the shared pool keys and no vhost', () => {
    assert.ok(connectorNames().includes('nats'));
    for (const key of ['pool.size', 'pool.N.host', 'pool.N.port', 'pool.N.user', 'pool.N.password', 'pool.N.ssl', 'pool.N.ssl.ca', 'pool.N.ssl.cert', 'pool.N.ssl.key', 'ttl_grace', 'max_reconnect_delay']) {
      assert.ok(key in natsConfigSchema.keys, key);
    }
    assert.equal(natsConfigSchema.keys['pool.N.port']!.default, 4222);
    assert.ok(!('vhost' in natsConfigSchema.keys), 'NATS has no virtual host: no setting that would do nothing');
  });

  test('every problem is reported at once: missing host, TLS files without TLS, collectives with a dot', () => {
    const { options, problems } = readNatsOptions(configFromObject({
      collectives: 'mcollective,eu.west', 'plugin.nats.pool.size': 2, 'plugin.nats.pool.1.host': 'a.example.net',
      'plugin.nats.pool.1.ssl.ca': '/nonexistent/ca.pem',
    }));
    assert.equal(options.hosts[0]!.port, 4222);
    for (const expected of [
      /plugin\.nats\.pool\.2\.host is missing/, /plugin\.nats\.pool\.1\.ssl\.ca is set but plugin\.nats\.pool\.1\.ssl is not enabled/,
      /plugin\.nats\.pool\.1\.ssl\.ca: file \/nonexistent\/ca\.pem does not exist/,
      /collectives .*"eu\.west" cannot be used with the nats connector: a collective is one NATS subject token/,
    ]) assert.ok(problems.some((problem) => expected.test(problem)), `${expected} in ${JSON.stringify(problems, null, 1)}`);
    assert.ok(!problems.some((problem) => problem.includes('"mcollective"')));
    const { connector } = make('settings.example.net', { collectives: 'eu.west', 'plugin.nats.pool.1.host': '127.0.0.1' });
    assert.match(connector.validate().join('\n'), /"eu\.west" cannot be used with the nats connector/);
  });

  test('subjects: broadcast, directed, and private reply subjects', () => {
    assert.equal(broadcastSubject('mcollective', 'rpcutil'), 'mcollective.broadcast.agent.rpcutil');
    assert.equal(directedSubject('mcollective', 'web1.example.net'), 'mcollective.node.web1.example.net');
    const reply = replySubject('mcollective', 'client.example.net');
    assert.match(reply, new RegExp(`^mcollective\\.reply\\.client\\.example\\.net\\.${process.pid}_\\d+_[0-9a-f]{16}$`));
    assert.notEqual(replySubject('mcollective', 'client.example.net'), reply, 'each reply subject is new');
    const long = replySubject('mcollective', `${'h'.repeat(240)}.example.net`);
    assert.ok(long.length <= 255, 'a long identity is hashed to keep the subject within 255 characters');
    assert.match(long, /^mcollective\.reply\.[0-9a-f]{32}\.\d+_\d+_[0-9a-f]{16}$/);
    assert.equal(checkReplySubject(reply), undefined);
    assert.equal(checkReplySubject('mc.reply.abc.123'), undefined, 'another client\'s layout (Choria) is accepted');
    for (const bad of ['mcollective.broadcast.agent.rpcutil', 'mcollective.node.web1', 'mc.reply.>', 'mc.reply.*', 'mc.reply', 'mc.reply..x', 'mc.reply.x.', 'a.b.reply.x', '_INBOX.abc']) {
      assert.notEqual(checkReplySubject(bad), undefined, bad);
    }
  });

  test('names NATS cannot carry are refused as invalid arguments, and an unusable identity as a configuration problem', async () => {
    const { connector, counters } = make('names.example.net');
    const handler = (): void => undefined;
    await assert.rejects(connector.subscribeBroadcast('eu.west', 'rpcutil', handler), (error: unknown) =>
      error instanceof InvalidArgumentError && /collective: "eu\.west" cannot be used with the nats connector: a collective is one NATS subject token/.test(error.message));
    await assert.rejects(connector.subscribeReplies('eu.west', handler), InvalidArgumentError);
    await assert.rejects(connector.subscribeDirected('mcollective', 'web1..example', handler), /identity: "web1\.\.example" cannot be used .* empty token/);
    await assert.rejects(connector.publishRequest({ collective: 'mcollective', agent: 'rpcutil', body: Buffer.from('x'), ttl: 60, node: 'web1.' }),
      /request\.node: "web1\." cannot be used with the nats connector/);
    await assert.rejects(connector.publishReply('mcollective.broadcast.agent.rpcutil', Buffer.from('x'), 60), /is not usable: a NATS reply subject looks like/);
    assert.equal(counters.get('connector.nats.invalid_argument'), 5);
    assert.match(make('trailing.').connector.validate().join('\n'), /identity: "trailing\." cannot be used with the nats connector: a NATS subject cannot have an empty token/);
    await connector.disconnect();
  });
});

describe('nats on the wire (shared server)', () => {
  shared.test('mc_sender and mc_expires travel as NATS headers, the reply subject as the NATS reply', async () => {
    const raw = await connect({ servers: `${NATS.host}:${NATS.port}` });
    const { connector } = make('wire.example.net', natsTestSettings({ 'plugin.nats.ttl_grace': 3 }));
    try {
      const seen: Array<{ subject: string; reply: string; sender?: string; expires?: string; body: string }> = [];
      raw.subscribe(`${collective}.>`, { callback: (_error, msg) => {
        seen.push({ subject: msg.subject, reply: msg.reply ?? '', sender: msg.headers?.get('mc_sender'), expires: msg.headers?.get('mc_expires'), body: msg.string() });
      } });
      await raw.flush();
      await connector.connect();
      const replies = await connector.subscribeReplies(collective, () => undefined);
      const before = Date.now();
      await connector.publishRequest({ collective, agent: 'rpcutil', body: Buffer.from('hello'), ttl: 60, replyTo: replies.replyTo });
      await connector.publishRequest({ collective, agent: 'rpcutil', body: Buffer.from('direct'), ttl: 30, node: 'web1.example.net' });
      await eventually(() => seen.length === 2, 'both requests seen by a raw subscriber');
      assert.equal(seen[0]!.subject, `${collective}.broadcast.agent.rpcutil`);
      assert.equal(seen[0]!.reply, replies.replyTo);
      assert.equal(seen[0]!.sender, 'wire.example.net');
      assert.equal(seen[0]!.body, 'hello');
      const expires = Number(seen[0]!.expires);
      assert.ok(expires >= before + 63_000 && expires <= Date.now() + 63_000, `mc_expires is now + (ttl + ttl_grace) s, got ${expires - before} ms`);
      assert.equal(seen[1]!.subject, `${collective}.node.web1.example.net`);
      assert.equal(seen[1]!.reply, '', 'no reply subject when the request names none');
    } finally {
      await connector.disconnect();
      await raw.close();
    }
  });

  shared.test('a message past its mc_expires is dropped on receipt and counted; one without headers arrives without a sender', async () => {
    const raw = await connect({ servers: `${NATS.host}:${NATS.port}` });
    const { connector, counters } = make('expiry.example.net');
    try {
      await connector.connect();
      const received: InboundMessage[] = [];
      await connector.subscribeDirected(collective, 'expiry.example.net', (message) => {
        received.push(message);
      });
      const subject = directedSubject(collective, 'expiry.example.net');
      const stale = natsHeaders();
      stale.set('mc_sender', 'old.example.net');
      stale.set('mc_expires', String(Date.now() - 1000));
      raw.publish(subject, 'stale', { headers: stale });
      raw.publish(subject, 'bare');
      const fresh = natsHeaders();
      fresh.set('mc_sender', 'new.example.net');
      fresh.set('mc_expires', String(Date.now() + 60_000));
      raw.publish(subject, 'fresh', { headers: fresh });
      await raw.flush();
      await eventually(() => received.length === 2, 'the bare and the fresh message');
      assert.deepEqual(received.map((m) => Buffer.from(m.body).toString()), ['bare', 'fresh']);
      assert.equal(received[0]!.sender, undefined);
      assert.equal(received[1]!.sender, 'new.example.net');
      assert.equal(received[1]!.headers['subject'], subject);
      assert.equal(counters.get('connector.nats.expired'), 1);
      assert.equal(counters.get('connector.nats.inbound_without_sender'), 1);
    } finally {
      await connector.disconnect();
      await raw.close();
    }
  });
});

describe('nats permissions (private nats-server)', () => {
  let server: PrivateNatsServer | undefined;
  before(async () => {
    if (!privateServer.reachable) return;
    server = await PrivateNatsServer.start(`authorization {
  users = [
    { user: node, password: secret, permissions: { publish: { allow: ["${collective}.reply.>"] }, subscribe: { allow: ["${collective}.node.>"] } } }
  ]
}`);
  });
  after(async () => server?.stop());

  const limited = (): { connector: Connector; counters: MemoryCounters } => make('perm.example.net', natsTestSettings({
    'plugin.nats.pool.1.user': 'node', 'plugin.nats.pool.1.password': 'secret',
  }, server!.port));

  privateServer.test('a publish the server denies fails with PublishError naming the subject; allowed ones still work', async () => {
    const { connector, counters } = limited();
    try {
      await connector.connect();
      await assert.rejects(connector.publishRequest({ collective, agent: 'rpcutil', body: Buffer.from('x'), ttl: 60 }), (error: unknown) =>
        error instanceof PublishError && error.message.includes(`the NATS server denied publishing to ${collective}.broadcast.agent.rpcutil (permissions of node)`));
      await connector.publishReply(`${collective}.reply.client.1`, Buffer.from('allowed'), 60);
      assert.equal(counters.get('connector.nats.permission_denied'), 1);
      assert.equal(counters.get('connector.nats.published'), 1);
      assert.equal(connector.state, 'connected', 'a denial does not cost the connection');
    } finally {
      await connector.disconnect();
    }
  });

  privateServer.test('a subscription the server denies fails with ConnectionError; the connection stays', async () => {
    const { connector, counters } = limited();
    try {
      await connector.connect();
      await assert.rejects(connector.subscribeBroadcast(collective, 'rpcutil', () => undefined), (error: unknown) =>
        error instanceof ConnectionError && error.message.includes(`the NATS server refused the subscription to ${collective}.broadcast.agent.rpcutil: Permissions Violation`));
      assert.equal(counters.get('connector.nats.subscribe_failed'), 1);
      await connector.subscribeDirected(collective, 'perm.example.net', () => undefined);
      assert.equal(connector.state, 'connected');
    } finally {
      await connector.disconnect();
    }
  });
});
