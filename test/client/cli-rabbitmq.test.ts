/**
 * The tsco CLI as a subprocess against in-process daemons over RabbitMQ (the amqp connector, 127.0.0.1:5672,
 * guest/guest): ping, rpc with each filter kind, the --json shape, MCollective's exit codes, a denied request,
 * and expired or tampered requests explained by `tsco decode`. Without RabbitMQ it prints a loud line
 * (and fails under CI=true).
 */
import { after, before, describe } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import '../../plugins/connector/amqp/index.js';
import { configFromObject } from '../../src/config/index.js';
import { createSecurityProvider } from '../../src/security/registry.js';
import { MemoryCounters } from '../../src/util/counters.js';
import { CapturingLogger } from '../../src/util/log.js';
import { emptyFilter, newRequestId } from '../../src/client/index.js';
import { amqpGate } from '../integration/harness/brokers.js';
import { startCluster, type Cluster } from './cluster.js';

const TSCO = fileURLToPath(new URL('../../src/cli/tsco.js', import.meta.url));
const COLLECTIVE = `tscocli${process.pid}`;
const AMQP = {
  connector: 'amqp', 'plugin.amqp.host': '127.0.0.1', 'plugin.amqp.port': 5672, 'plugin.amqp.user': 'guest', 'plugin.amqp.password': 'guest',
  collectives: COLLECTIVE, main_collective: COLLECTIVE,
};

interface Run { code: number; stdout: string; stderr: string }

function tsco(args: string[], options: { stdin?: string; config?: string } = {}): Promise<Run> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [TSCO, ...(options.config ? ['--config', options.config] : []), ...args], { timeout: 60_000 }, (error, stdout, stderr) => {
      const code = error && typeof (error as { code?: unknown }).code === 'number' ? (error as { code: number }).code : error ? -1 : 0;
      resolve({ code, stdout, stderr });
    });
    if (options.stdin !== undefined) child.stdin!.end(options.stdin);
  });
}

const rabbit = await amqpGate();

describe('tsco CLI over RabbitMQ', () => {
  let cluster: Cluster;
  let config: string;

  before(async () => {
    if (!rabbit.reachable) return;
    cluster = await startCluster(AMQP);
    config = cluster.writeClientConfig('client.cfg');
  });
  after(async () => {
    await cluster?.stop();
  });

  const json = async (args: string[]): Promise<{ run: Run; doc: { items: Array<Record<string, unknown>>; stats: Record<string, unknown> } }> => {
    const run = await tsco([...args, '--json', '--dt', '2', '-t', '5'], { config });
    try {
      return { run, doc: JSON.parse(run.stdout) };
    } catch {
      throw new Error(`tsco ${args.join(' ')} did not print JSON (exit ${run.code}):\n${run.stdout}\n${run.stderr}`);
    }
  };
  const senders = (doc: { items: Array<Record<string, unknown>> }) => doc.items.map((item) => item['sender']).sort();

  rabbit.test('ping lists every node with a round trip, then the statistics', async () => {
    const run = await tsco(['ping', '--dt', '2'], { config });
    assert.equal(run.code, 0, run.stderr);
    for (const node of ['web1', 'web2', 'db1']) assert.match(run.stdout, new RegExp(`^${node}\\s+time=\\d+\\.\\d\\d ms$`, 'm'));
    assert.match(run.stdout, /---- ping statistics ----\n3 replies max: [\d.]+ min: [\d.]+ avg: [\d.]+/);
  });

  rabbit.test('rpc with each filter kind selects the right nodes; inputs are typed from the agent declaration', async () => {
    const cases: Array<[string[], string[]]> = [
      [['-I', 'web1'], ['web1']],
      [['-I', '/^web/'], ['web1', 'web2']],
      [['-F', 'country=uk'], ['db1', 'web1']],
      [['-F', 'cores>=8'], ['db1', 'web2']],
      [['-C', 'db'], ['db1']],
      [['-A', 'example'], ['db1', 'web1', 'web2']],
      [['-S', 'country=uk and not role=db'], ['web1']],
      [['-W', 'role=web', '-W', 'base'], ['web1', 'web2']],
    ];
    for (const [filter, expected] of cases) {
      const { run, doc } = await json(['rpc', 'example', 'echo', 'message=hi', 'times=2', ...filter]);
      assert.equal(run.code, 0, `${filter.join(' ')}: ${run.stderr}`);
      assert.deepEqual(senders(doc), expected, filter.join(' '));
      for (const item of doc.items) assert.deepEqual(item['data'], { message: 'hihi', node: item['sender'] });
    }
  });

  rabbit.test('--json prints one document of items, stats and aggregates', async () => {
    const { run, doc } = await json(['rpc', 'rpcutil', 'ping', '-C', 'web']);
    assert.equal(run.code, 0, run.stderr);
    // rpcutil#ping declares aggregates (min/max/average of pong): they come as their own member.
    assert.deepEqual(Object.keys(doc).sort(), ['aggregates', 'items', 'stats']);
    assert.equal(doc.items.length, 2);
    for (const item of doc.items) {
      assert.deepEqual(Object.keys(item).sort(), ['action', 'agent', 'data', 'sender', 'sender_authenticated', 'sender_proof', 'signer', 'statuscode', 'statusmsg']);
      // Each node signs with its own key, named after it: the sender is proven.
      assert.equal(item['signer'], `cert=${String(item['sender'])}`);
      assert.equal(item['sender_proof'], 'key-name');
      assert.equal(item['sender_authenticated'], true);
      assert.equal(item['agent'], 'rpcutil');
      assert.equal(item['action'], 'ping');
      assert.equal(item['statuscode'], 0);
    }
    for (const key of ['discovered', 'responded', 'ok', 'failed', 'discoveryMs', 'agentMs', 'totalMs', 'noResponses']) assert.ok(key in doc.stats, key);
    assert.equal(doc.stats['discovered'], 2);
    assert.equal(doc.stats['responded'], 2);
  });

  rabbit.test('exit codes: 2 failures and denials, 1 nothing discovered, 3 no responses, 4 nothing at all', async () => {
    const failed = await json(['rpc', 'example', 'fail', '-I', 'db1']);
    assert.equal(failed.run.code, 2);
    assert.equal(failed.doc.items[0]!['statusmsg'], 'failed on purpose');

    const denied = await json(['rpc', 'example', 'secret', '-I', 'web2']);
    assert.equal(denied.run.code, 2);
    assert.equal(denied.doc.items[0]!['statuscode'], 1);
    assert.match(String(denied.doc.items[0]!['statusmsg']), /not authorized/);

    const nothing = await json(['rpc', 'rpcutil', 'ping', '-C', 'nosuchclass']);
    assert.equal(nothing.run.code, 1);
    assert.equal(nothing.doc.stats['discovered'], 0);

    const nodes = join(cluster.dir, 'ghosts.txt');
    writeFileSync(nodes, 'ghost1\nghost2\n');
    const ghosts = await tsco(['rpc', 'rpcutil', 'ping', '--nodes', nodes, '-t', '1'], { config });
    assert.equal(ghosts.code, 3);
    assert.match(ghosts.stdout, /No response from:\n\n\s+ghost1\s+ghost2/);

    const silence = await tsco(['ping', '-I', 'nobody', '--dt', '1'], { config });
    assert.equal(silence.code, 4);
    assert.match(silence.stdout, /No responses received/);
  });

  rabbit.test('bad input is refused with the argument named and exit 1, before any request is sent', async () => {
    const undeclared = await tsco(['rpc', 'example', 'echo', 'message=x', 'colour=red', '-I', 'web1'], { config });
    assert.equal(undeclared.code, 1);
    assert.match(undeclared.stderr, /input colour is not declared by example\.echo/);
    const typed = await tsco(['rpc', 'example', 'echo', 'message=x', 'times=many', '-I', 'web1'], { config });
    assert.match(typed.stderr, /input times: expected an integer, got "many"/);
    const filter = await tsco(['rpc', 'example', 'echo', 'message=x', '-F', 'country'], { config });
    assert.equal(filter.code, 1);
    assert.match(filter.stderr, /fact filter "country"/);
  });

  rabbit.test('decode explains why an expired or tampered request is refused, and shows a good one', async () => {
    const server = join(cluster.dir, 'web1', 'server.cfg');
    writeFileSync(server, [
      `identity = web1`, `securityprovider = aes_security`, `connector = amqp`, `plugin.amqp.host = 127.0.0.1`,
      `plugin.aes.server_private = ${join(cluster.dir, 'keys', 'web1-private.pem')}`, `plugin.aes.server_public = ${join(cluster.dir, 'keys', 'web1.pem')}`,
      `plugin.aes.client_cert_dir = ${cluster.certDir}`,
    ].join('\n') + '\n');
    const encode = (now: () => number): Buffer => {
      const provider = createSecurityProvider('aes_security', {
        config: configFromObject(cluster.clientSettings), role: 'client', logger: new CapturingLogger(), counters: new MemoryCounters(), now,
      });
      return Buffer.from(provider.encodeRequest({
        requestid: newRequestId(), senderid: 'tester', agent: 'example', collective: COLLECTIVE, filter: emptyFilter(), ttl: 60,
        body: { action: 'echo', data: { message: 'captured' } },
      }).wire);
    };
    const decode = async (wire: Buffer): Promise<{ run: Run; doc: Record<string, unknown> }> => {
      const run = await new Promise<Run>((resolve) => {
        const child = execFile(process.execPath, [TSCO, '--config', server, 'decode', '--as', 'server'], { encoding: 'buffer', timeout: 60_000 }, (error, stdout, stderr) => {
          resolve({ code: error ? Number((error as { code?: number }).code ?? -1) : 0, stdout: stdout.toString(), stderr: stderr.toString() });
        });
        child.stdin!.end(wire);
      });
      return { run, doc: JSON.parse(run.stdout) as Record<string, unknown> };
    };

    const good = await decode(encode(Date.now));
    assert.equal(good.run.code, 0, good.run.stderr);
    assert.equal(good.doc['accepted'], true);
    assert.equal(good.doc['callerid'], 'cert=tester');
    assert.deepEqual(good.doc['body'], { action: 'echo', data: { message: 'captured' } });

    const expired = await decode(encode(() => Date.now() - 3_600_000));
    assert.equal(expired.run.code, 1);
    assert.equal(expired.doc['accepted'], false);
    assert.equal(expired.doc['code'], 'TSC_SEC_EXPIRED');
    assert.match(expired.run.stderr, /rejected: TSC_SEC_EXPIRED: /);

    const wire = encode(Date.now);
    wire[wire.length - 40] ^= 0x01;
    const tampered = await decode(wire);
    assert.equal(tampered.run.code, 1);
    assert.equal(tampered.doc['accepted'], false);
    assert.match(String(tampered.doc['code']), /^TSC_SEC_(BAD_SIGNATURE|MALFORMED)$/);
  });
});
