/**
 * The tsco CLI as a subprocess against in-process daemons over NATS (the nats connector, the shared server on
 * 127.0.0.1:4222): ping, rpc with broadcast and directed requests and each filter kind, the --json shape, exit
 * codes, and a client that gives up in one line (exit 5) on a wrong password or a server that requires TLS (private
 * nats-servers). Without NATS its tests are skipped with the reason (and fail under CI=true).
 */
import { after, before, describe } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import '../../plugins/connector/nats/index.js';
import { NATS, PrivateNatsServer, natsGate, natsServerGate } from '../integration/harness/nats.js';
import { startCluster, type Cluster } from './cluster.js';

const TSCO = fileURLToPath(new URL('../../src/cli/tsco.js', import.meta.url));
const COLLECTIVE = `tsconats${process.pid}`;
const NATS_SETTINGS = {
  connector: 'nats', 'plugin.nats.pool.size': 1, 'plugin.nats.pool.1.host': NATS.host, 'plugin.nats.pool.1.port': NATS.port,
  collectives: COLLECTIVE, main_collective: COLLECTIVE,
};

interface Run { code: number; stdout: string; stderr: string }

function tsco(args: string[], config: string): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [TSCO, '--config', config, ...args], { timeout: 60_000 }, (error, stdout, stderr) => {
      const code = error && typeof (error as { code?: unknown }).code === 'number' ? (error as { code: number }).code : error ? -1 : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

const nats = await natsGate();
const servers = natsServerGate();

describe('tsco CLI over NATS', () => {
  let cluster: Cluster;
  let config: string;

  before(async () => {
    if (!nats.reachable) return;
    cluster = await startCluster(NATS_SETTINGS);
    config = cluster.writeClientConfig('client.cfg');
  });
  after(async () => {
    await cluster?.stop();
  });

  const json = async (args: string[]): Promise<{ run: Run; doc: { items: Array<Record<string, unknown>>; stats: Record<string, unknown> } }> => {
    const run = await tsco([...args, '--json', '--dt', '2', '-t', '5'], config);
    try {
      return { run, doc: JSON.parse(run.stdout) };
    } catch {
      throw new Error(`tsco ${args.join(' ')} did not print JSON (exit ${run.code}):\n${run.stdout}\n${run.stderr}`);
    }
  };
  const senders = (doc: { items: Array<Record<string, unknown>> }) => doc.items.map((item) => item['sender']).sort();

  nats.test('ping lists every node with a round trip, then the statistics', async () => {
    const run = await tsco(['ping', '--dt', '2'], config);
    assert.equal(run.code, 0, run.stderr);
    for (const node of ['web1', 'web2', 'db1']) assert.match(run.stdout, new RegExp(`^${node}\\s+time=\\d+\\.\\d\\d ms$`, 'm'));
    assert.match(run.stdout, /---- ping statistics ----\n3 replies max: [\d.]+ min: [\d.]+ avg: [\d.]+/);
  });

  nats.test('rpc with each filter kind selects the right nodes, broadcast and directed', async () => {
    const cases: Array<[string[], string[]]> = [
      [['-I', 'web1'], ['web1']],
      [['-I', 'web1', '-I', 'db1'], ['db1', 'web1']],
      [['-I', '/^web/'], ['web1', 'web2']],
      [['-F', 'country=uk'], ['db1', 'web1']],
      [['-C', 'db'], ['db1']],
      [['-S', 'country=uk and not role=db'], ['web1']],
    ];
    for (const [filter, expected] of cases) {
      const { run, doc } = await json(['rpc', 'example', 'echo', 'message=hi', 'times=2', ...filter]);
      assert.equal(run.code, 0, `${filter.join(' ')}: ${run.stderr}`);
      assert.deepEqual(senders(doc), expected, filter.join(' '));
      for (const item of doc.items) {
        assert.deepEqual(item['data'], { message: 'hihi', node: item['sender'] });
        assert.equal(item['sender_authenticated'], true);
      }
    }
  });

  nats.test('exit codes: 2 failures, 1 nothing discovered, 3 no responses', async () => {
    const failed = await json(['rpc', 'example', 'fail', '-I', 'db1']);
    assert.equal(failed.run.code, 2);
    assert.equal(failed.doc.items[0]!['statusmsg'], 'failed on purpose');

    const nothing = await json(['rpc', 'rpcutil', 'ping', '-C', 'nosuchclass']);
    assert.equal(nothing.run.code, 1);
    assert.equal(nothing.doc.stats['discovered'], 0);

    const nodes = join(cluster.dir, 'ghosts.txt');
    writeFileSync(nodes, 'ghost1\nghost2\n');
    const ghosts = await tsco(['rpc', 'rpcutil', 'ping', '--nodes', nodes, '-t', '1'], config);
    assert.equal(ghosts.code, 3);
    assert.match(ghosts.stdout, /No response from:\n\n\s+ghost1\s+ghost2/);
  });
});

describe('tsco over NATS gives up in one line', () => {
  let auth: PrivateNatsServer | undefined;
  let cluster: Cluster | undefined;
  before(async () => {
    if (!servers.reachable) return;
    auth = await PrivateNatsServer.start('authorization { user: mc, password: right }');
  });
  after(async () => {
    await auth?.stop();
    await cluster?.stop();
  });

  servers.test('a wrong password: exit 5, TSC_BROKER_AUTH, one line', async () => {
    // A cluster without daemons: only the client's files are needed.
    cluster = await startCluster({ connector: 'nats', 'plugin.nats.pool.1.host': '127.0.0.1', 'plugin.nats.pool.1.port': auth!.port }, []);
    const config = cluster.writeClientConfig('wrong.cfg', { 'plugin.nats.pool.1.user': 'mc', 'plugin.nats.pool.1.password': 'wrong' });
    const run = await tsco(['ping', '-t', '20'], config);
    assert.equal(run.code, 5, run.stderr);
    const lines = run.stderr.split('\n').filter(Boolean);
    assert.equal(lines.length, 1, run.stderr);
    assert.match(lines[0]!, new RegExp(`^tsco: TSC_BROKER_AUTH: could not connect to any nats broker after 1 attempt\\(s\\) \\(retrying cannot help\\); last: 127\\.0\\.0\\.1:${auth!.port}: authentication failed: user or password refused`));
    const good = await tsco(['ping', '--dt', '1'], cluster.writeClientConfig('right.cfg', { 'plugin.nats.pool.1.user': 'mc', 'plugin.nats.pool.1.password': 'right' }));
    assert.equal(good.code, 4, `connected, and nobody answered: ${good.stderr}`);
  });
});
