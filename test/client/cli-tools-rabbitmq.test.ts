/**
 * tsco's operator conveniences against real daemons over RabbitMQ (amqp, 127.0.0.1:5672): rpc discovers only the
 * nodes hosting the agent and waits for the agent's declared timeout, `facts`, -1, --sort, --table, -o, --nodes -
 * with `discover --json` output, a closed pipe, colours and the progress bar only on a terminal (a pseudo-terminal
 * made with `script`), never with NO_COLOR, and discovery exempt from action policy. Without RabbitMQ the tests
 * are skipped with the reason (and fail under CI=true).
 */
import { after, before, describe } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import '../../plugins/connector/amqp/index.js';
import { generateKeyPairFiles } from '../../src/keys/index.js';
import { CLOSED_PIPE_EXIT_CODE } from '../../src/cli/tsco/terminal.js';
import { amqpGate } from '../integration/harness/brokers.js';
import { NODES, startCluster, type Cluster } from './cluster.js';
import { helloAgent } from './hello-agent.js';

const TSCO = fileURLToPath(new URL('../../src/cli/tsco.js', import.meta.url));
const COLLECTIVE = `tscotools${process.pid}`;
const rabbit = await amqpGate();
const hasScript = spawnSync('script', ['--version']).status === 0;

interface Run { code: number; stdout: string; stderr: string }
interface RpcDoc {
  items: Array<{ sender: string; statuscode: number; statusmsg: string; data: Record<string, unknown> }>;
  stats: { discovered: number; responded: number; noResponses: string[]; timedOut: boolean };
}

describe('tsco operator tools over RabbitMQ', () => {
  let cluster: Cluster;
  let config: string;
  let scratch: string;
  let env: NodeJS.ProcessEnv;

  const tsco = (args: string[], options: { stdin?: string; env?: NodeJS.ProcessEnv; config?: string } = {}): Promise<Run> => new Promise((resolve) => {
    const child = execFile(process.execPath, [TSCO, '--config', options.config ?? config, ...args], { timeout: 90_000, env: { ...env, ...options.env } }, (error, stdout, stderr) => {
      resolve({ code: error ? Number((error as { code?: number }).code ?? -1) : 0, stdout, stderr });
    });
    child.stdin!.end(options.stdin ?? '');
  });
  const json = async (args: string[], options: { stdin?: string } = {}): Promise<{ run: Run; doc: RpcDoc }> => {
    const run = await tsco([...args, '--json'], options);
    try {
      return { run, doc: JSON.parse(run.stdout) as RpcDoc };
    } catch {
      throw new Error(`tsco ${args.join(' ')} did not print JSON (exit ${run.code}):\n${run.stdout}\n${run.stderr}`);
    }
  };
  const senders = (doc: RpcDoc) => doc.items.map((item) => item.sender).sort();
  /**
   * tsco on a pseudo-terminal (`script`): what the terminal showed (standard output and error together). Run
   * asynchronously: the daemons answering it live in this process.
   */
  const onTerminal = (args: string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<Run> => new Promise((resolve) => {
    const command = [process.execPath, TSCO, '--config', config, ...args].map((word) => `'${word.replace(/'/g, `'\\''`)}'`).join(' ');
    execFile('script', ['-qfec', command, '/dev/null'], { timeout: 90_000, env: { ...env, ...extraEnv } }, (error, stdout, stderr) => {
      resolve({ code: error ? Number((error as { code?: number }).code ?? -1) : 0, stdout, stderr });
    });
  });

  before(async () => {
    if (!rabbit.reachable) return;
    scratch = mkdtempSync(join(tmpdir(), 'tsc-cli-tools-'));
    env = { ...process.env, XDG_CACHE_HOME: join(scratch, 'cache') };
    delete env['NO_COLOR'];
    // hello lives on web2 only; the client has no code or description of it (fetched, then cached).
    const nodes = NODES.map((node) => (node.identity === 'web2' ? { ...node, agents: [helloAgent] } : node));
    cluster = await startCluster({
      connector: 'amqp', 'plugin.amqp.host': '127.0.0.1', 'plugin.amqp.port': 5672, 'plugin.amqp.user': 'guest', 'plugin.amqp.password': 'guest',
      collectives: COLLECTIVE, main_collective: COLLECTIVE,
    }, nodes);
    config = cluster.writeClientConfig('client.cfg', { discovery_timeout: 2 });
  });
  after(async () => {
    await cluster?.stop();
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  rabbit.test('rpc discovers only the nodes hosting the agent, and the wait ends when they all answered', async () => {
    const { run, doc } = await json(['rpc', 'hello', 'greet', 'name=ops']);
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(senders(doc), ['web2']);
    assert.equal(doc.items[0]!.data['greeting'], 'hello ops from web2');
    assert.equal(doc.stats.discovered, 1);
    assert.deepEqual(doc.stats.noResponses, []);
    assert.equal(doc.stats.timedOut, false, 'the wait ended because every discovered node answered');
    // Nodes without the agent received the discovery ping only (filtered out), never the hello request.
    for (const daemon of cluster.daemons) assert.equal(daemon.stats()['misrouted'], 0, daemon.identity);

    const text = await tsco(['rpc', 'hello', 'greet']);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /^web2\n\s+Greeting: hello world from web2\n/m);
    assert.match(text.stdout, /Finished processing 1 \/ 1 hosts/);
    assert.doesNotMatch(text.stdout, /web1|db1|No response from/);
  });

  rabbit.test('the reply wait is the agent\'s declared timeout plus a margin: an 11 s action succeeds; -t overrides it', async () => {
    const { run, doc } = await json(['rpc', 'hello', 'slow', 'seconds=11']);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(doc.items.length, 1);
    assert.equal(doc.items[0]!.statuscode, 0, doc.items[0]!.statusmsg);
    assert.equal(doc.items[0]!.data['slept'], 11);
    assert.equal(doc.stats.timedOut, false);

    const cut = await json(['rpc', 'hello', 'slow', 'seconds=3', '-t', '1']);
    assert.equal(cut.run.code, 3, 'discovered but no response within -t');
    assert.deepEqual(cut.doc.stats.noResponses, ['web2']);
    assert.equal(cut.doc.stats.timedOut, true);
  });

  rabbit.test('facts counts the values of a fact across the fleet', async () => {
    const run = await tsco(['facts', 'country']);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^Report for fact: country\n\n {8}de {39}found 1 times\n {8}uk {39}found 2 times\n/);
    assert.match(run.stdout, /Finished processing 3 \/ 3 hosts/);
    const verbose = await tsco(['facts', 'role', '-v', '-F', 'country=uk']);
    assert.match(verbose.stdout, /db {39}found 1 times\n\n {12}db1\n\n {8}web {38}found 1 times\n\n {12}web1\n/);
    const { run: jsonRun, doc } = await json(['facts', 'country']) as unknown as { run: Run; doc: { values: unknown } };
    assert.equal(jsonRun.code, 0);
    assert.deepEqual(doc.values, [{ value: 'de', count: 1, nodes: ['web2'] }, { value: 'uk', count: 2, nodes: ['db1', 'web1'] }]);
    const missing = await tsco(['facts', 'nosuchfact']);
    assert.match(missing.stdout, /\(unknown\) {32}found 3 times/);
    const bad = await tsco(['facts', 'bad fact!']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /FACT/);
  });

  rabbit.test('-1 addresses one node; --sort orders replies by sender; --table prints one row per node', async () => {
    const one = await json(['rpc', 'rpcutil', 'ping', '-1']);
    assert.equal(one.run.code, 0, one.run.stderr);
    assert.equal(one.doc.items.length, 1);
    assert.equal(one.doc.stats.discovered, 3);
    const conflict = await tsco(['rpc', 'rpcutil', 'ping', '-1', '--limit-nodes', '2']);
    assert.equal(conflict.code, 1);
    assert.match(conflict.stderr, /-1\/--one: conflicts with --limit-nodes/);

    const sorted = await tsco(['rpc', 'rpcutil', 'get_fact', 'fact=country', '--sort']);
    assert.equal(sorted.code, 0, sorted.stderr);
    assert.deepEqual([...sorted.stdout.matchAll(/^(web1|web2|db1)$/gm)].map((m) => m[1]), ['db1', 'web1', 'web2']);
    assert.match(sorted.stdout, /Summary of Value:/);
    const sortedJson = await json(['rpc', 'rpcutil', 'ping', '--sort']);
    assert.deepEqual(sortedJson.doc.items.map((item) => item.sender), ['db1', 'web1', 'web2']);

    const table = await tsco(['rpc', 'rpcutil', 'get_fact', 'fact=country', '--table', '--sort']);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /^Sender {2}Status {2}Fact {5}Value\n-{6} {2}-{6} {2}-{7} {2}-{5}\ndb1 {5}OK {6}country {2}uk\nweb1 {4}OK {6}country {2}uk\nweb2 {4}OK {6}country {2}de\n/);
    const failed = await tsco(['rpc', 'example', 'fail', '-I', 'db1', '--table']);
    assert.equal(failed.code, 2);
    assert.match(failed.stdout, /^Sender {2}Status\n-{6} {2}-{24}\ndb1 {5}Error: failed on purpose\n/);
    const both = await tsco(['rpc', 'rpcutil', 'ping', '--table', '--json']);
    assert.equal(both.code, 1);
  });

  rabbit.test('-o writes the --json document to a file; an unwritable path fails before anything is sent', async () => {
    const file = join(scratch, 'out.json');
    const run = await tsco(['rpc', 'rpcutil', 'ping', '-o', file]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /Finished processing 3 \/ 3 hosts/);
    const doc = JSON.parse(readFileSync(file, 'utf8')) as RpcDoc & { aggregates: unknown[] };
    assert.deepEqual(senders(doc), ['db1', 'web1', 'web2']);
    assert.ok(Array.isArray(doc.aggregates));
    const facts = await tsco(['facts', 'country', '--output-file', file]);
    assert.equal(facts.code, 0);
    assert.equal((JSON.parse(readFileSync(file, 'utf8')) as { fact: string }).fact, 'country');
    const before = cluster.daemons.map((daemon) => daemon.stats()['total']);
    const bad = await tsco(['rpc', 'rpcutil', 'ping', '-o', join(scratch, 'no', 'such', 'dir', 'out.json')]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /--output-file .*cannot write it/);
    assert.deepEqual(cluster.daemons.map((daemon) => daemon.stats()['total']), before, 'nothing was sent');
  });

  rabbit.test('discover --json output is a node list: --nodes - from standard input, and as a file', async () => {
    const discovered = await tsco(['discover', '-C', 'web', '--json']);
    assert.equal(discovered.code, 0, discovered.stderr);
    assert.deepEqual((JSON.parse(discovered.stdout) as { nodes: string[] }).nodes, ['web1', 'web2']);
    const piped = await json(['rpc', 'rpcutil', 'ping', '--nodes', '-'], { stdin: discovered.stdout });
    assert.equal(piped.run.code, 0, piped.run.stderr);
    assert.deepEqual(senders(piped.doc), ['web1', 'web2']);
    // An agent neither installed nor cached is described through the same list (read from standard input once).
    const hello = await json(['rpc', 'hello', 'greet', '--nodes', '-'], { stdin: '{"nodes": ["web2"]}' });
    assert.equal(hello.run.code, 0, hello.run.stderr);
    assert.deepEqual(senders(hello.doc), ['web2']);

    const file = join(scratch, 'nodes.json');
    const saved = await tsco(['discover', '-F', 'country=uk', '-o', file]);
    assert.equal(saved.code, 0, saved.stderr);
    const fromFile = await json(['rpc', 'rpcutil', 'ping', '--nodes', file, '-I', '/^db/']);
    assert.deepEqual(senders(fromFile.doc), ['db1']);
    const broken = await tsco(['rpc', 'rpcutil', 'ping', '--nodes', '-'], { stdin: '{"nodes": ["web1", "bad name"]}' });
    assert.equal(broken.code, 1);
    assert.match(broken.stderr, /standard input: nodes\[1\]/);
  });

  rabbit.test('a closed pipe ends tsco quietly with the status of SIGPIPE, not a stack trace', async () => {
    const child = spawn(process.execPath, [TSCO, '--config', config, 'rpc', 'rpcutil', 'ping'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    // The reader goes away before tsco writes anything (as `| head -0` would).
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
    const code = await new Promise<number | null>((resolve) => child.on('close', (status) => resolve(status)));
    assert.equal(code, CLOSED_PIPE_EXIT_CODE, stderr);
    assert.equal(stderr, '');
  });

  rabbit.test('no escape codes when not on a terminal; colours and the progress bar on one, never colours with NO_COLOR', async (t) => {
    const piped = await tsco(['rpc', 'example', 'fail', '-I', 'db1', '-v']);
    assert.equal(piped.code, 2);
    assert.doesNotMatch(piped.stdout + piped.stderr, /\x1b/);
    assert.doesNotMatch(piped.stderr, /Discovering|\* \[/);
    if (!hasScript) {
      t.skip('the `script` command (util-linux) is not installed: no pseudo-terminal to test colours and the progress bar on');
      return;
    }
    const colored = await onTerminal(['rpc', 'example', 'fail', '-C', 'db']);
    assert.equal(colored.code, 2, colored.stdout);
    assert.match(colored.stdout, /\x1b\[31mError: failed on purpose\x1b\[0m/);
    assert.match(colored.stdout, /Discovering hosts using the mc method for 2 second\(s\) \.\.\.\. 1/);
    assert.match(colored.stdout, / \* \[ =+ \] 1 \/ 1/);
    const plain = await onTerminal(['rpc', 'example', 'fail', '-C', 'db'], { NO_COLOR: '1' });
    assert.equal(plain.code, 2, plain.stdout);
    assert.match(plain.stdout, /Error: failed on purpose/);
    assert.match(plain.stdout, /Discovering hosts/);
    assert.doesNotMatch(plain.stdout, /\x1b/);
    const quiet = await onTerminal(['rpc', 'example', 'fail', '-C', 'db', '--np']);
    assert.doesNotMatch(quiet.stdout, /Discovering|\* \[/);
    assert.match(quiet.stdout, /Error: failed on purpose/);
  });

  rabbit.test('discovery is exempt from action policy: a caller no policy allows discovers, with no denial logged', async () => {
    const keys = await generateKeyPairFiles('outsider', { dir: join(scratch, 'outsider') });
    copyFileSync(keys.publicPath, join(cluster.certDir, 'outsider.pem'));
    const outsider = cluster.writeClientConfig('outsider.cfg', {
      identity: 'outsider', 'plugin.aes.client_private': keys.privatePath, 'plugin.aes.client_public': keys.publicPath, discovery_timeout: 2,
    });
    const unauthorized = () => cluster.daemons.map((daemon) => daemon.stats()['unauthorized']);
    const before = unauthorized();
    const found = await tsco(['discover'], { config: outsider });
    assert.equal(found.code, 0, found.stderr);
    assert.deepEqual(found.stdout.trim().split('\n'), ['db1', 'web1', 'web2']);
    assert.deepEqual(unauthorized(), before, 'a discovery ping is never a denial');
    for (const logger of cluster.loggers) assert.ok(!logger.records.some((record) => /denied .*discovery#ping/.test(record.msg)), 'no denial logged for discovery');

    // Everything else stays under the policy: the same caller's rpcutil#ping is denied and counted.
    const denied = await tsco(['rpc', 'rpcutil', 'ping', '--json'], { config: outsider });
    assert.equal(denied.code, 2);
    const doc = JSON.parse(denied.stdout) as RpcDoc;
    assert.equal(doc.items.length, 3);
    for (const item of doc.items) assert.match(item.statusmsg, /cert=outsider is not authorized to call rpcutil#ping/);
    assert.deepEqual(unauthorized(), before.map((count) => Number(count) + 1));
    // facts lists the denials after its (empty) report, with rpc's exit code.
    const facts = await tsco(['facts', 'country'], { config: outsider });
    assert.equal(facts.code, 2);
    assert.match(facts.stdout, /^Report for fact: country\n\n {8}No values\n\nFailed on 3 node\(s\):\n\n(db1|web1|web2) +Aborted: cert=outsider is not authorized to call rpcutil#get_fact\n/);
  });
});
