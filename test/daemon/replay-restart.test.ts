/**
 * Replay protection across a restart, with the real tscollectived process over RabbitMQ (the `amqp` connector,
 * 127.0.0.1:5672): a directed request runs once; the daemon is restarted; the captured wire bytes are delivered
 * again and refused (TSC_SEC_REPLAYED, the action does not run twice); a request signed before the restart but
 * first delivered after it still runs (a clean restart loses no legitimate request). Without RabbitMQ the test is
 * skipped with the reason (and fails under CI=true).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import '../../plugins/connector/amqp/index.js';
import '../../plugins/security/aes_security/index.js';
import { configFromObject } from '../../src/config/index.js';
import { createConnector } from '../../src/connector/registry.js';
import type { DecodedReply, RpcReplyBody } from '../../src/inter/message.js';
import type { ReplyHandle } from '../../src/inter/security.js';
import { createSecurityProvider } from '../../src/security/registry.js';
import { MemoryCounters } from '../../src/util/counters.js';
import { CapturingLogger } from '../../src/util/log.js';
import { amqpGate } from '../integration/harness/brokers.js';
import { filter, tempDir, waitFor } from './helpers.js';
import { makeKeys, trust } from './keys.js';

const DAEMON = fileURLToPath(new URL('../../src/cli/tscollectived.js', import.meta.url));
const DEFINE_AGENT = new URL('../../src/agent/define.js', import.meta.url).href;

/** An agent whose `record` action appends its request id to a file: how many times it ran is counted there. */
const RECORDING_AGENT = `import { appendFileSync } from 'node:fs';
import { defineAgent } from ${JSON.stringify(DEFINE_AGENT)};
export default defineAgent({
  name: 'journaltest', version: '1.0.0', description: 'records each run', author: 'tests', license: 'Apache-2.0',
  actions: {
    record: {
      description: 'appends the request id to plugin.journaltest.file',
      handler: (_input, context) => { appendFileSync(context.config.file, context.requestid + '\\n'); return { ran: true }; },
    },
  },
});
`;

function startDaemon(cfg: string): { child: ChildProcess; stderr: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [DAEMON, '--config', cfg], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, stderr: () => stderr, exited };
}

const rabbit = await amqpGate();

rabbit.test('a directed request replayed after a daemon restart is refused; one signed before the restart still runs', async (t) => {
  const dir = tempDir('replay-restart');
  const identity = `replaynode-${randomBytes(3).toString('hex')}`;
  // The server key is named after the node: that is what proves the replies come from it.
  const [operator, server] = await Promise.all([makeKeys(join(dir, 'keys'), 'operator'), makeKeys(join(dir, 'keys'), identity)]);
  trust(join(dir, 'server-certs'), operator);
  trust(join(dir, 'client-certs'), server);
  mkdirSync(join(dir, 'lib', 'agent'), { recursive: true });
  writeFileSync(join(dir, 'lib', 'agent', 'journaltest.js'), RECORDING_AGENT);
  const runs = join(dir, 'runs.txt');
  writeFileSync(runs, '');
  const collective = `tscreplay${process.pid}${randomBytes(3).toString('hex')}`;
  const cfg = join(dir, 'server.cfg');
  const settings = {
    identity, collectives: collective, connector: 'amqp', 'plugin.amqp.host': '127.0.0.1', securityprovider: 'aes_security',
    'plugin.aes.server_private': server.privatePath, 'plugin.aes.server_public': server.publicPath, 'plugin.aes.client_cert_dir': join(dir, 'server-certs'),
    statedir: join(dir, 'state'), libdir: join(dir, 'lib'), 'plugin.journaltest.file': runs,
    logfile: join(dir, 'daemon.log'), 'plugin.yaml': join(dir, 'facts.yaml'), classesfile: join(dir, 'classes.txt'),
  };
  writeFileSync(cfg, Object.entries(settings).map(([key, value]) => `${key} = ${value}`).join('\n') + '\n');
  writeFileSync(join(dir, 'facts.yaml'), 'role: replaytest\n');

  const config = configFromObject({ identity: 'operator-host', connector: 'amqp', 'plugin.amqp.host': '127.0.0.1', collectives: collective });
  const connector = createConnector('amqp', { config, identity: 'operator-host', logger: new CapturingLogger(), counters: new MemoryCounters() });
  const security = createSecurityProvider('aes_security', {
    config: configFromObject({ 'plugin.aes.client_private': operator.privatePath, 'plugin.aes.client_public': operator.publicPath, 'plugin.aes.client_cert_dir': join(dir, 'client-certs') }),
    role: 'client', logger: new CapturingLogger(), counters: new MemoryCounters(),
  });
  const replies: DecodedReply[] = [];
  const handles = new Map<string, ReplyHandle>();
  let daemon = startDaemon(cfg);
  try {
    await connector.connect();
    const subscription = await connector.subscribeReplies(collective, (message) => {
      try { replies.push(security.decodeReply(message.body, (id) => handles.get(id))); } catch { /* a reply to a request the test stopped waiting for */ }
    });
    const sign = (agent: string, action: string): { requestid: string; wire: Uint8Array } => {
      const requestid = randomBytes(16).toString('hex');
      const { wire, handle } = security.encodeRequest({ requestid, senderid: 'operator-host', agent, collective, filter: filter({ identity: [identity] }), ttl: 120, body: { action, data: {} } });
      handles.set(requestid, handle);
      return { requestid, wire };
    };
    const deliver = (agent: string, wire: Uint8Array) =>
      connector.publishRequest({ collective, agent, node: identity, body: wire, ttl: 120, replyTo: subscription.replyTo });
    const replyTo = async (requestid: string, what: string): Promise<RpcReplyBody> => {
      await waitFor(() => replies.some((r) => r.requestid === requestid) || daemon.child.exitCode !== null, what, 30_000);
      const reply = replies.find((r) => r.requestid === requestid);
      assert.ok(reply, `${what}: the daemon exited:\n${daemon.stderr()}`);
      return reply.body as RpcReplyBody;
    };
    /** Pings until the (re)started daemon answers: then it is subscribed. */
    const ready = async (): Promise<void> => {
      const deadline = Date.now() + 30_000;
      while (Date.now() < deadline && daemon.child.exitCode === null) {
        const ping = sign('rpcutil', 'ping');
        await deliver('rpcutil', ping.wire);
        try {
          await waitFor(() => replies.some((r) => r.requestid === ping.requestid), 'a pong', 1000);
          return;
        } catch { /* not subscribed yet */ }
      }
      assert.fail(`the daemon did not answer a ping:\n${daemon.stderr()}`);
    };
    const ranRequests = () => readFileSync(runs, 'utf8').split('\n').filter(Boolean);

    await ready();
    const original = sign('journaltest', 'record');
    await deliver('journaltest', original.wire);
    assert.equal((await replyTo(original.requestid, 'the original request')).statuscode, 0);
    const signedBeforeRestart = sign('journaltest', 'record');

    daemon.child.kill('SIGTERM');
    assert.equal(await daemon.exited, 0, daemon.stderr());
    daemon = startDaemon(cfg);
    await ready();

    await deliver('journaltest', original.wire);
    await deliver('journaltest', signedBeforeRestart.wire);
    // Directed requests reach the node's queue in order: once the second is answered, the replay was handled.
    assert.equal((await replyTo(signedBeforeRestart.requestid, 'the request signed before the restart')).statuscode, 0);
    assert.deepEqual(ranRequests(), [original.requestid, signedBeforeRestart.requestid], 'each request ran exactly once');

    const statsRequest = sign('rpcutil', 'daemon_stats');
    await deliver('rpcutil', statsRequest.wire);
    const stats = (await replyTo(statsRequest.requestid, 'daemon_stats')).data as { security: Record<string, number>; replayed: number };
    assert.equal(stats.security['TSC_SEC_REPLAYED'], 1, JSON.stringify(stats));
    assert.equal(stats.replayed, 1);
    assert.ok(existsSync(join(dir, 'state', `replay-${identity}.journal`)), 'the journal is in the configured statedir');
  } finally {
    await connector.disconnect().catch(() => undefined);
    if (daemon.child.exitCode === null) {
      daemon.child.kill('SIGTERM');
      await daemon.exited;
    }
  }
});
