/**
 * SIGHUP replaces a cached key: a real tscollectived over RabbitMQ (amqp connector) caches the operator's public
 * key; the file is then replaced by a new key of the same name. Until SIGHUP the daemon keeps using the cached
 * key (key_recheck_interval is an hour, so only the signal can make it look again): the old key is accepted and
 * the new one refused. After SIGHUP it is the other way round. Refusals are read from daemon_stats, asked by a
 * second trusted client. Skipped with the reason without RabbitMQ; fails under CI=true.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import '../../plugins/connector/amqp/index.js';
import '../../plugins/security/aes_security/index.js';
import { configFromObject } from '../../src/config/index.js';
import { createConnector } from '../../src/connector/registry.js';
import type { DecodedReply, RpcReplyBody } from '../../src/inter/message.js';
import type { ReplyHandle, SecurityProvider } from '../../src/inter/security.js';
import { createSecurityProvider } from '../../src/security/registry.js';
import { MemoryCounters } from '../../src/util/counters.js';
import { CapturingLogger } from '../../src/util/log.js';
import { within } from '../harness/wait.js';
import { amqpGate } from '../integration/harness/brokers.js';
import { filter, tempDir, waitFor } from './helpers.js';
import { makeKeys, trust, type KeyFiles } from './keys.js';

const DAEMON = fileURLToPath(new URL('../../src/cli/tscollectived.js', import.meta.url));
const rabbit = await amqpGate();

rabbit.test('SIGHUP replaces a cached key: the old key is refused and the new one of the same name accepted', async () => {
  const dir = tempDir('reload');
  // The server key is named after the node: that is what proves its replies come from it.
  const identity = `reloadnode-${randomBytes(3).toString('hex')}`;
  const [oldKey, newKey, auditor, server] = await Promise.all([
    makeKeys(join(dir, 'old'), 'operator'), makeKeys(join(dir, 'new'), 'operator'), makeKeys(join(dir, 'keys'), 'auditor'), makeKeys(join(dir, 'keys'), identity),
  ]);
  const serverCerts = join(dir, 'server-certs');
  trust(serverCerts, oldKey, auditor);
  trust(join(dir, 'client-certs'), server);
  writeFileSync(join(dir, 'facts.yaml'), 'role: reloadtest\n');
  const collective = `tscreload${randomBytes(4).toString('hex')}`;
  const cfg = join(dir, 'server.cfg');
  const pidfile = join(dir, 'tscollectived.pid');
  const settings: Record<string, string | number> = {
    identity, statedir: join(dir, 'state'), collectives: collective, connector: 'amqp', 'plugin.amqp.host': '127.0.0.1',
    securityprovider: 'aes_security', 'plugin.aes.server_private': server.privatePath, 'plugin.aes.server_public': server.publicPath,
    'plugin.aes.client_cert_dir': serverCerts, 'plugin.aes.key_recheck_interval': 3600,
    logfile: join(dir, 'daemon.log'), loglevel: 'info', 'plugin.yaml': join(dir, 'facts.yaml'), classesfile: join(dir, 'classes.txt'),
  };
  writeFileSync(cfg, Object.entries(settings).map(([key, value]) => `${key} = ${value}`).join('\n') + '\n');

  const child = spawn(process.execPath, [DAEMON, '--config', cfg, '--pidfile', pidfile], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const logger = new CapturingLogger();
  const connector = createConnector('amqp', {
    config: configFromObject({ identity: 'reload-operator', connector: 'amqp', 'plugin.amqp.host': '127.0.0.1', collectives: collective }),
    identity: 'reload-operator', logger, counters: new MemoryCounters(),
  });
  try {
    await waitFor(() => existsSync(pidfile) || child.exitCode !== null, 'the pid file', 30_000);
    assert.equal(child.exitCode, null, stderr);
    const client = (key: KeyFiles): SecurityProvider => createSecurityProvider('aes_security', {
      config: configFromObject({ 'plugin.aes.client_private': key.privatePath, 'plugin.aes.client_public': key.publicPath, 'plugin.aes.client_cert_dir': join(dir, 'client-certs') }),
      role: 'client', logger, counters: new MemoryCounters(),
    });
    const senders = { old: client(oldKey), new: client(newKey), auditor: client(auditor) };
    const replies: DecodedReply[] = [];
    const handles = new Map<string, ReplyHandle>();
    await connector.connect();
    const subscription = await connector.subscribeReplies(collective, (message) => {
      for (const side of Object.values(senders)) {
        try { replies.push(side.decodeReply(message.body, (id) => handles.get(id))); return; } catch { /* sent by another test client */ }
      }
    });
    const send = async (who: keyof typeof senders, action: string): Promise<string> => {
      const requestid = randomBytes(16).toString('hex');
      const { wire: body, handle } = senders[who].encodeRequest({
        requestid, senderid: 'reload-operator', agent: 'rpcutil', collective, ttl: 60, body: { action, data: {} },
        filter: filter({ fact: [{ fact: 'role', operator: '==', value: 'reloadtest' }] }),
      });
      handles.set(requestid, handle);
      await connector.publishRequest({ collective, agent: 'rpcutil', body, ttl: 60, replyTo: subscription.replyTo });
      return requestid;
    };
    const reply = async (requestid: string, what: string): Promise<RpcReplyBody> => {
      await waitFor(() => replies.some((r) => r.requestid === requestid), what, 20_000);
      return replies.find((r) => r.requestid === requestid)!.body as RpcReplyBody;
    };
    const stats = async (): Promise<{ unvalidated: number; unknownSender: number }> => {
      const body = await reply(await send('auditor', 'daemon_stats'), "the auditor's daemon_stats");
      assert.equal(body.statuscode, 0, body.statusmsg);
      const security = body.data['security'] as Record<string, number>;
      return { unvalidated: body.data['unvalidated'] as number, unknownSender: security['TSC_SEC_UNKNOWN_SENDER'] ?? 0 };
    };
    /** Sends a ping as `who` and proves, through daemon_stats, that the daemon refused it as an unknown sender. */
    const refused = async (who: 'old' | 'new', when: string): Promise<void> => {
      const before = await stats();
      const requestid = await send(who, 'ping');
      // Requests of one subscription are handled in order: the auditor's next daemon_stats comes after this ping.
      const after = await stats();
      assert.deepEqual(after, { unvalidated: before.unvalidated + 1, unknownSender: before.unknownSender + 1 }, `the ${who} key is refused ${when}`);
      assert.ok(!replies.some((r) => r.requestid === requestid), `no reply to the ${who} key ${when}`);
    };
    const accepted = async (who: 'old' | 'new', when: string): Promise<void> => {
      const body = await reply(await send(who, 'ping'), `a reply to the ${who} key ${when}`);
      assert.equal(body.statuscode, 0, `the ${who} key is accepted ${when}`);
    };

    await accepted('old', 'at first (and is now cached)');
    copyFileSync(newKey.publicPath, join(serverCerts, 'operator.pem'));
    await accepted('old', 'after its file was replaced, before SIGHUP (the daemon still holds the cached key)');
    await refused('new', 'before SIGHUP');

    child.kill('SIGHUP');
    await waitFor(() => stderr.includes('reloaded (SIGHUP)'), 'the reload', 20_000);
    await refused('old', 'after SIGHUP');
    await accepted('new', 'after SIGHUP');

    child.kill('SIGTERM');
    assert.equal(await within(exited, { timeoutMs: 30_000, what: 'the daemon to exit on SIGTERM' }), 0, stderr);
  } finally {
    await connector.disconnect();
    if (child.exitCode === null) child.kill('SIGKILL');
  }
});
