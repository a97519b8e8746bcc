/**
 * The nats connector through outages and refusals, against private nats-server processes (the shared one on 4222
 * is never stopped): a server restart is survived (subscriptions and the reply subject come back, a publish made
 * during the outage goes out after it), and a client-role connector gives up at once, with the reason, when the
 * port is closed, the password is wrong, or TLS cannot work (server requires TLS, untrusted server certificate,
 * missing client certificate, no TLS on the server), and within its budget when the server never answers. TLS
 * with the right CA and client certificate works end to end.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { type Server, type Socket, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe } from 'node:test';
import { createNatsConnector } from '../../plugins/connector/nats/index.js';
import { configFromObject } from '../../src/config/index.js';
import { BrokerUnavailableError } from '../../src/errors.js';
import type { Connector, ConnectorRole, ConnectorState, InboundMessage } from '../../src/inter/connector.js';
import { MemoryCounters } from '../../src/util/counters.js';
import { CapturingLogger } from '../../src/util/log.js';
import { FakeNatsServer, PrivateNatsServer, freePort, natsServerGate, natsTestSettings } from './harness/nats.js';
import { type TlsMaterial, ensureTlsMaterial } from './harness/rabbitmq-tls.js';
import { TcpProxy } from './harness/tcp-proxy.js';

const gate = natsServerGate();
const run = randomBytes(3).toString('hex');
const collective = `natsout${run}`;

function make(identity: string, settings: Record<string, string | number | boolean>, role: ConnectorRole = 'daemon') {
  const counters = new MemoryCounters();
  const connector = createNatsConnector({ config: configFromObject(settings, { source: 'nats-outage.test' }), identity, logger: new CapturingLogger(), counters, role });
  const states: ConnectorState[] = [];
  connector.on('state', (state) => states.push(state));
  return { connector, counters, states };
}

async function eventually(condition: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) assert.fail(`timed out after ${timeoutMs} ms waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** A client connector's connect() fails with a BrokerUnavailableError with `code` and a message matching `text`. */
async function refused(connector: Connector, code: string, text: RegExp): Promise<BrokerUnavailableError> {
  let caught: unknown;
  try {
    await connector.connect();
  } catch (error) {
    caught = error;
  } finally {
    await connector.disconnect();
  }
  assert.ok(caught instanceof BrokerUnavailableError, `a BrokerUnavailableError, got ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  assert.match(caught.message, text);
  assert.doesNotMatch(caught.message, /\n/, 'one line');
  return caught;
}

describe('nats: a server restart', () => {
  let server: PrivateNatsServer | undefined;
  // The client reaches the server through a proxy, so the test decides which side reconnects first (below).
  let proxy: TcpProxy | undefined;
  before(async () => {
    if (!gate.reachable) return;
    server = await PrivateNatsServer.start();
    proxy = await TcpProxy.start({ host: '127.0.0.1', port: server.port });
  });
  after(async () => {
    await proxy?.close();
    await server?.stop();
  });

  gate.test('subscriptions and the reply subject come back; a publish made during the outage is sent after it', async () => {
    const settings = natsTestSettings({ 'plugin.nats.publish_timeout': 30 }, server!.port);
    const node = make('restart-node.example.net', settings);
    const client = make('restart-client.example.net', natsTestSettings({ 'plugin.nats.publish_timeout': 30 }, proxy!.port));
    try {
      await Promise.all([node.connector.connect(), client.connector.connect()]);
      const requests: InboundMessage[] = [];
      const answer = async (request: InboundMessage): Promise<void> => {
        requests.push(request);
        if (request.replyTo) await node.connector.publishReply(request.replyTo, Buffer.from(`ack:${Buffer.from(request.body).toString()}`), 60);
      };
      await node.connector.subscribeBroadcast(collective, 'outage', answer);
      await node.connector.subscribeDirected(collective, 'restart-node.example.net', answer);
      const replies: string[] = [];
      const replySub = await client.connector.subscribeReplies(collective, (message) => {
        replies.push(Buffer.from(message.body).toString());
      });
      const ask = (body: string, node?: string): Promise<void> =>
        client.connector.publishRequest({ collective, agent: 'outage', body: Buffer.from(body), ttl: 60, replyTo: replySub.replyTo, ...(node ? { node } : {}) });

      await ask('before');
      await eventually(() => replies.includes('ack:before'), 'the reply before the restart');

      await server!.halt();
      proxy!.hold();
      await eventually(() => node.connector.state === 'reconnecting' && client.connector.state === 'reconnecting', 'both connectors notice the outage');
      // Published while no server runs: it waits for the reconnection (publish_timeout 30 s).
      const during = ask('during');
      await new Promise((resolve) => setTimeout(resolve, 300));
      await server!.resume();
      // Core NATS keeps nothing for a subject nobody subscribes to: the request sent on the client's reconnection
      // reaches the node only once the node has subscribed again. Each side's back-off decides which comes first,
      // so the client's way back opens only after the node is connected (its subscriptions restored).
      await eventually(() => node.connector.state === 'connected', 'the node connected again');
      assert.equal(client.connector.state, 'reconnecting');
      proxy!.release();
      await eventually(() => client.connector.state === 'connected', 'the client connected again');
      await during;

      await ask('after-broadcast');
      await ask('after-directed', 'restart-node.example.net');
      await eventually(() => ['ack:during', 'ack:after-broadcast', 'ack:after-directed'].every((reply) => replies.includes(reply)), 'every reply after the restart');
      assert.ok(node.states.includes('reconnecting') && client.states.includes('reconnecting'));
      assert.equal(client.counters.get('connector.nats.reconnected'), 1);
      assert.equal(node.counters.get('connector.nats.reconnected'), 1);
      assert.ok(client.counters.get('connector.nats.published') >= 4);
    } finally {
      await Promise.all([node.connector.disconnect(), client.connector.disconnect()]);
    }
  });
});

describe('nats: clients give up with the reason', () => {
  let auth: PrivateNatsServer | undefined;
  let tls: PrivateNatsServer | undefined;
  let optionalTls: PrivateNatsServer | undefined;
  let material: TlsMaterial | undefined;
  let tlsDir = '';
  let silent: Server | undefined;
  let silentPort = 0;
  const sockets = new Set<Socket>();

  before(async () => {
    // A port that accepts connections and never says anything: a server that hangs.
    silent = createServer((socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });
    await new Promise<void>((resolve) => silent!.listen(0, '127.0.0.1', resolve));
    silentPort = (silent.address() as { port: number }).port;
    if (!gate.reachable) return;
    tlsDir = mkdtempSync(join(tmpdir(), 'tsc-nats-tls-'));
    material = (await ensureTlsMaterial(tlsDir)).material;
    auth = await PrivateNatsServer.start('authorization { user: mc, password: right }');
    tls = await PrivateNatsServer.start(`tls {
  cert_file: "${material.serverCert}"
  key_file: "${material.serverKey}"
  ca_file: "${material.caCert}"
  verify: true
  timeout: 2
}`);
    optionalTls = await PrivateNatsServer.start(`allow_non_tls: true
tls {
  cert_file: "${material.serverCert}"
  key_file: "${material.serverKey}"
}`);
  });
  after(async () => {
    for (const socket of sockets) socket.destroy();
    silent?.close();
    await auth?.stop();
    await tls?.stop();
    await optionalTls?.stop();
    if (tlsDir) rmSync(tlsDir, { recursive: true, force: true });
  });

  const client = (port: number, extra: Record<string, string | number | boolean> = {}) =>
    make('failfast.example.net', natsTestSettings({ 'plugin.nats.connect_timeout': 20, ...extra }, port), 'client').connector;
  const tlsFiles = (ca = material!.caCert) => ({
    'plugin.nats.pool.1.ssl': 1, 'plugin.nats.pool.1.ssl.ca': ca, 'plugin.nats.pool.1.ssl.cert': material!.clientCert, 'plugin.nats.pool.1.ssl.key': material!.clientKey,
  });

  gate.test('a closed port: refused, within the budget', async () => {
    const port = await freePort();
    await refused(client(port, { 'plugin.nats.connect_timeout': 1.5 }), 'TSC_BROKER_REFUSED',
      new RegExp(`could not connect to any nats broker within the connect budget of 1\\.5 s .*last: 127\\.0\\.0\\.1:${port}: connection refused`));
  });

  gate.test('a server that never answers: timeout, within the budget', async () => {
    const started = Date.now();
    await refused(client(silentPort, { 'plugin.nats.connect_timeout': 1.5 }), 'TSC_BROKER_TIMEOUT', /within the connect budget of 1\.5 s/);
    assert.ok(Date.now() - started < 15_000, 'gave up long before a daemon would');
  });

  gate.test('a wrong password: authentication failed, at once', async () => {
    const error = await refused(client(auth!.port, { 'plugin.nats.pool.1.user': 'mc', 'plugin.nats.pool.1.password': 'wrong' }), 'TSC_BROKER_AUTH',
      /after 1 attempt\(s\) \(retrying cannot help\); last: 127\.0\.0\.1:\d+: authentication failed: user or password refused \(plugin\.nats\.pool\.1\.user and plugin\.nats\.pool\.1\.password\): Authorization Violation/);
    assert.equal(error.attempts, 1);
  });

  gate.test('TLS the server requires but the pool host does not enable: TLS, at once', async () => {
    await refused(client(tls!.port), 'TSC_BROKER_TLS', /after 1 attempt\(s\) .*the server requires TLS: set plugin\.nats\.pool\.1\.ssl = 1/);
  });

  gate.test('an untrusted server certificate (wrong ssl.ca): TLS, at once', async () => {
    await refused(client(tls!.port, tlsFiles(join(material!.dir, 'rogue-ca.pem'))), 'TSC_BROKER_TLS',
      /after 1 attempt\(s\) .*\(tls\): TLS handshake failed: the broker's certificate is not trusted/);
  });

  gate.test('no client certificate for a server that verifies clients: TLS, at once', async () => {
    await refused(client(tls!.port, { 'plugin.nats.pool.1.ssl': 1, 'plugin.nats.pool.1.ssl.ca': material!.caCert }), 'TSC_BROKER_TLS',
      /after 1 attempt\(s\) .*TLS handshake failed: the server requires a client certificate: set plugin\.nats\.pool\.1\.ssl\.cert and plugin\.nats\.pool\.1\.ssl\.key/);
  });

  gate.test('TLS asked of a server without it: TLS, at once', async () => {
    await refused(client(auth!.port, tlsFiles()), 'TSC_BROKER_TLS', /the server does not offer TLS \(plugin\.nats\.pool\.1\.ssl is on\)/);
  });

  gate.test('without pool.N.ssl the connection stays plain, even when the server offers TLS', async () => {
    // The server's certificate is signed by the test CA, which the system does not trust: an upgrade would fail.
    const plain = make('plain.example.net', natsTestSettings({}, optionalTls!.port), 'client');
    try {
      await plain.connector.connect();
      await plain.connector.publishRequest({ collective, agent: 'plain', body: Buffer.from('x'), ttl: 60 });
      assert.equal(plain.connector.state, 'connected');
    } finally {
      await plain.connector.disconnect();
    }
  });

  gate.test('TLS with the right CA and client certificate: messages flow', async () => {
    const a = make('tls-a.example.net', natsTestSettings(tlsFiles(), tls!.port), 'client');
    const b = make('tls-b.example.net', natsTestSettings(tlsFiles(), tls!.port));
    try {
      await Promise.all([a.connector.connect(), b.connector.connect()]);
      const got: string[] = [];
      await b.connector.subscribeBroadcast(collective, 'tls', (message) => {
        got.push(`${message.sender}:${Buffer.from(message.body).toString()}`);
      });
      await a.connector.publishRequest({ collective, agent: 'tls', body: Buffer.from('sealed'), ttl: 60 });
      await eventually(() => got.length === 1, 'the message over TLS');
      assert.deepEqual(got, ['tls-a.example.net:sealed']);
    } finally {
      await Promise.all([a.connector.disconnect(), b.connector.disconnect()]);
    }
  });
});

describe('nats: the protocol as the connector uses it (a fake server)', () => {
  gate.test('a server without message headers (before NATS 2.2) is refused at connect, saying why', async () => {
    const fake = await FakeNatsServer.start({ headers: false });
    try {
      await refused(make('old.example.net', natsTestSettings({ 'plugin.nats.connect_timeout': 1 }, fake.port), 'client').connector, 'TSC_BROKER_UNAVAILABLE',
        /the NATS server 2\.1\.0 does not support message headers \(mc_sender\): it needs NATS 2\.2 or later/);
    } finally {
      await fake.stop();
    }
  });

  gate.test('publishes made in the same tick are confirmed by one PING', async () => {
    const fake = await FakeNatsServer.start();
    const { connector } = make('batch.example.net', natsTestSettings({}, fake.port));
    try {
      await connector.connect();
      const before = fake.commands.length;
      await Promise.all(Array.from({ length: 50 }, (_, i) => connector.publishRequest({ collective, agent: 'batch', body: Buffer.from(`m${i}`), ttl: 60 })));
      const sent = fake.commands.slice(before);
      assert.deepEqual(sent, [...Array.from({ length: 50 }, () => 'HPUB'), 'PING'], 'fifty publishes, then one PING for all of them');
    } finally {
      await connector.disconnect();
      await fake.stop();
    }
  });

  gate.test('a server that stops answering PINGs is declared lost after two of them; the connector reconnects', async () => {
    // The handshake's PING is answered, the heartbeats are not.
    const fake = await FakeNatsServer.start({ pongs: 1 });
    const { connector, counters, states } = make('silent.example.net', natsTestSettings({ 'plugin.nats.heartbeat_interval': 1 }, fake.port));
    try {
      await connector.connect();
      await eventually(() => states.includes('reconnecting'), 'the connection is declared lost', 20_000);
      assert.equal(counters.get('connector.nats.connection_lost'), 1);
      assert.ok(fake.commands.filter((command) => command === 'PING').length >= 3, 'the handshake PING and at least two heartbeats');
    } finally {
      await connector.disconnect();
      await fake.stop();
    }
  });
});
