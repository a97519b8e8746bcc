/**
 * The real tscollectived process (dist/src/cli/tscollectived.js) against RabbitMQ through the
 * `amqp` connector (127.0.0.1:5672, guest/guest) with aes_security: pid file, a request and its
 * reply, SIGHUP reload, SIGTERM exit 0, and a bad configuration refused with every problem.
 * When RabbitMQ is unreachable the RabbitMQ test is skipped with the reason; with CI=true it fails.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import '../../plugins/connector/amqp/index.js';
import '../../plugins/security/aes_security/index.js';
import { configFromObject } from '../../src/config/index.js';
import { createConnector } from '../../src/connector/registry.js';
import type { DecodedReply, RpcReplyBody } from '../../src/inter/message.js';
import type { ReplyHandle } from '../../src/inter/security.js';
import { createSecurityProvider } from '../../src/security/registry.js';
import { CapturingLogger } from '../../src/util/log.js';
import { MemoryCounters } from '../../src/util/counters.js';
import { amqpGate } from '../integration/harness/brokers.js';
import { within } from '../harness/wait.js';
import { filter, tempDir, waitFor } from './helpers.js';
import { makeKeys, trust } from './keys.js';

const DAEMON = fileURLToPath(new URL('../../src/cli/tscollectived.js', import.meta.url));

const rabbit = await amqpGate();
/** A daemon's exit is awaited at most this long (a hang guard). */
const EXIT_LIMIT = { timeoutMs: 30_000, what: 'the daemon to exit' };

/** Starts the daemon; collects stderr; resolves its exit code through `exited`. */
function run(args: string[]): { child: ChildProcess; stderr: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [DAEMON, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, stderr: () => stderr, exited };
}

function writeConfig(path: string, settings: Record<string, string | number>): void {
  writeFileSync(path, Object.entries(settings).map(([key, value]) => `${key} = ${value}`).join('\n') + '\n');
}

test('tscollectived refuses a bad configuration, listing every problem, exit 1', async () => {
  const dir = tempDir('badcfg');
  const cfg = join(dir, 'server.cfg');
  // Problems the file parser finds (types, enums) are listed first, every one of them.
  // Every configuration names a state directory of its own: start-up checks open the replay journal there.
  const statedir = join(dir, 'state');
  writeConfig(cfg, { connector: 'amqp', loglevel: 'chatty', ttl: 'soon', statedir });
  const unparsable = run(['--config', cfg]);
  assert.equal(await within(unparsable.exited, EXIT_LIMIT), 1);
  assert.match(unparsable.stderr(), /refusing to start/);
  assert.match(unparsable.stderr(), /loglevel/);
  assert.match(unparsable.stderr(), /ttl/);

  // A well-formed file: the daemon's own checks, the provider's and the connector's, all at once.
  writeConfig(cfg, {
    identity: 'bad name!', connector: 'amqp', 'plugin.amqp.host': '127.0.0.1', securityprovider: 'aes_security',
    rpcaudit: 1, rpcauditprovider: 'syslog', 'plugin.aes.server_private': join(dir, 'missing.pem'), statedir,
  });
  const daemon = run(['--config', cfg, '--pidfile', join(dir, 'd.pid')]);
  assert.equal(await within(daemon.exited, EXIT_LIMIT), 1);
  const stderr = daemon.stderr();
  assert.match(stderr, /refusing to start/);
  assert.match(stderr, /identity: "bad name!"/);
  assert.match(stderr, /rpcauditprovider: only logfile/);
  assert.match(stderr, /aes_security: plugin\.aes\./);
  assert.match(stderr, /amqp: identity/);
  assert.ok(!existsSync(join(dir, 'd.pid')), 'no pid file for a daemon that did not start');

  // Both at once: invalid values in the file do not hide what the later stages find in the rest of it.
  writeConfig(cfg, { identity: 'bad name!', connector: 'zeromq', ttl: 'soon', 'plugin.aes.send_pubky': 1, statedir });
  const both = run(['--config', cfg]);
  assert.equal(await within(both.exited, EXIT_LIMIT), 1);
  const all = both.stderr();
  assert.match(all, /server\.cfg:\d+: ttl/);
  assert.match(all, /server\.cfg:\d+: identity: "bad name!"/);
  assert.match(all, /unknown connector "zeromq"/);
  assert.match(all, /aes_security: plugin\.aes\.server_private is not set/);
  assert.match(all, /warning: .*plugin\.aes\.send_pubky.*did you mean plugin\.aes\.send_pubkey\?/);
});

rabbit.test('tscollectived against RabbitMQ: pid file, request/reply, SIGHUP, SIGTERM', async () => {
  const dir = tempDir('process');
  const keys = join(dir, 'keys');
  const identity = `procnode-${randomBytes(3).toString('hex')}`;
  // The server key is named after the node: that is what proves its replies come from it.
  const [client, server, late] = await Promise.all([makeKeys(keys, 'operator'), makeKeys(keys, identity), makeKeys(keys, 'latecomer')]);
  trust(join(dir, 'server-certs'), client);
  trust(join(dir, 'client-certs'), server);
  writeFileSync(join(dir, 'facts.yaml'), 'role: testnode\n');
  const collective = `tsctest${randomBytes(4).toString('hex')}`;
  const cfg = join(dir, 'server.cfg');
  const pidfile = join(dir, 'run', 'tscollectived.pid');
  writeConfig(cfg, {
    identity, collectives: collective, connector: 'amqp', 'plugin.amqp.host': '127.0.0.1', securityprovider: 'aes_security',
    'plugin.aes.server_private': server.privatePath, 'plugin.aes.server_public': server.publicPath, 'plugin.aes.client_cert_dir': join(dir, 'server-certs'),
    logfile: join(dir, 'daemon.log'), loglevel: 'debug', 'plugin.yaml': join(dir, 'facts.yaml'), classesfile: join(dir, 'classes.txt'),
    statedir: join(dir, 'state'),
  });
  const daemon = run(['--config', cfg, '--pidfile', pidfile]);
  try {
    await waitFor(() => existsSync(pidfile) || daemon.child.exitCode !== null, 'the pid file', 30_000);
    assert.equal(readFileSync(pidfile, 'utf8').trim(), String(daemon.child.pid), daemon.stderr());

    const config = configFromObject({ identity: 'operator-host', connector: 'amqp', 'plugin.amqp.host': '127.0.0.1', collectives: collective });
    const logger = new CapturingLogger();
    const connector = createConnector('amqp', { config, identity: 'operator-host', logger, counters: new MemoryCounters() });
    const provider = (key: typeof client) => createSecurityProvider('aes_security', {
      config: configFromObject({ 'plugin.aes.client_private': key.privatePath, 'plugin.aes.client_public': key.publicPath, 'plugin.aes.client_cert_dir': join(dir, 'client-certs') }),
      role: 'client', logger, counters: new MemoryCounters(),
    });
    const security = { operator: provider(client), latecomer: provider(late) };
    const replies: DecodedReply[] = [];
    const handles = new Map<string, ReplyHandle>();
    await connector.connect();
    try {
      const replySubscription = await connector.subscribeReplies(collective, (message) => {
        for (const side of Object.values(security)) {
          try { replies.push(side.decodeReply(message.body, (id) => handles.get(id))); return; } catch { /* addressed to the other test client */ }
        }
      });
      const ask = async (who: keyof typeof security, action: string, data: Record<string, unknown> = {}): Promise<RpcReplyBody> => {
        const requestid = randomBytes(16).toString('hex');
        const { wire: body, handle } = security[who].encodeRequest({ requestid, senderid: 'operator-host', agent: 'rpcutil', collective, filter: filter({ fact: [{ fact: 'role', operator: '==', value: 'testnode' }] }), ttl: 60, body: { action, data } });
        handles.set(requestid, handle);
        await connector.publishRequest({ collective, agent: 'rpcutil', body, ttl: 60, replyTo: replySubscription.replyTo });
        await waitFor(() => replies.some((r) => r.requestid === requestid), `a reply to ${who}'s rpcutil#${action}`, 20_000);
        return replies.find((r) => r.requestid === requestid)!.body as RpcReplyBody;
      };

      const stats = await ask('operator', 'daemon_stats');
      assert.equal(stats.statuscode, 0);
      assert.equal(stats.data['pid'], daemon.child.pid);
      assert.equal(stats.data['configfile'], cfg);

      // The latecomer is unknown until its key is installed and the daemon is told with SIGHUP.
      trust(join(dir, 'server-certs'), late);
      daemon.child.kill('SIGHUP');
      await waitFor(() => daemon.stderr().includes('reloaded (SIGHUP)'), 'the reload', 20_000);
      assert.equal((await ask('latecomer', 'ping')).statuscode, 0);
    } finally {
      await connector.disconnect();
    }

    daemon.child.kill('SIGTERM');
    assert.equal(await within(daemon.exited, EXIT_LIMIT), 0, daemon.stderr());
    assert.ok(!existsSync(pidfile), 'the pid file is removed on exit');
  } finally {
    if (daemon.child.exitCode === null) daemon.child.kill('SIGKILL');
  }
});
