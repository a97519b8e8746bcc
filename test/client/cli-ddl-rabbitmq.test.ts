/**
 * tsco against real daemons over RabbitMQ (amqp, 127.0.0.1:5672), with a client that has no agent code: the
 * daemons host the example agent nettest, the external Python agent sysinfo and a third-party agent package from
 * a libdir outside the repository. `plugin doc` (listing, fetching, documenting inputs and outputs), inputs typed
 * from a fetched description, outputs under display names, aggregate summaries (text and --json), and the display
 * policy with --display. Without RabbitMQ its tests are skipped with the reason (and fail under CI=true).
 */
import { after, before, describe } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import '../../plugins/connector/amqp/index.js';
import { amqpGate } from '../integration/harness/brokers.js';
import { startCluster, type Cluster } from './cluster.js';

const TSCO = fileURLToPath(new URL('../../src/cli/tsco.js', import.meta.url));
const EXAMPLES = fileURLToPath(new URL('../../examples/agents/', import.meta.url));
const EXTERNAL = fileURLToPath(new URL('../../../examples/external/', import.meta.url));
const COLLECTIVE = `tscoddl${process.pid}`;
const rabbit = await amqpGate();

interface Run { code: number; stdout: string; stderr: string }

describe('tsco with agent descriptions over RabbitMQ', () => {
  let cluster: Cluster;
  let config: string;
  let scratch: string;
  let cacheHome: string;

  const tsco = (args: string[]): Promise<Run> => new Promise((resolve) => {
    execFile(process.execPath, [TSCO, '--config', config, ...args], { timeout: 60_000, env: { ...process.env, XDG_CACHE_HOME: cacheHome } }, (error, stdout, stderr) => {
      resolve({ code: error ? Number((error as { code?: number }).code ?? -1) : 0, stdout, stderr });
    });
  });

  before(async () => {
    if (!rabbit.reachable) return;
    scratch = mkdtempSync(join(tmpdir(), 'tsc-cli-ddl-'));
    cacheHome = join(scratch, 'cache');
    // A third-party agent package, outside the repository, importing tscollective/agent.
    const thirdParty = join(scratch, 'site', 'agent', 'greeter');
    mkdirSync(thirdParty, { recursive: true });
    writeFileSync(join(thirdParty, 'index.mjs'), `import { defineAgent } from 'tscollective/agent';
export default defineAgent({ name: 'greeter', version: '0.3.0', description: 'Greets, from a site package', actions: { greet: {
  description: 'Greets someone', input: { name: { type: 'string', required: true, maxLength: 32 } },
  output: { greeting: { description: 'The greeting', display_as: 'Greeting' } }, handler: ({ name }) => ({ greeting: 'hello ' + name }) } } });
`);
    cluster = await startCluster({
      connector: 'amqp', 'plugin.amqp.host': '127.0.0.1', 'plugin.amqp.port': 5672, 'plugin.amqp.user': 'guest', 'plugin.amqp.password': 'guest',
      collectives: COLLECTIVE, main_collective: COLLECTIVE, libdir: `${EXAMPLES}:${EXTERNAL}:${join(scratch, 'site')}`,
    });
    // The client has no agent code: an empty libdir (only the built-in agents are local).
    mkdirSync(join(scratch, 'empty', 'agent'), { recursive: true });
    config = cluster.writeClientConfig('client-noagents.cfg', { libdir: join(scratch, 'empty'), discovery_timeout: 2 });
  });
  after(async () => {
    await cluster?.stop();
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  rabbit.test('plugin doc: lists known agents, fetches and documents nettest\'s inputs and outputs, documents rpcutil', async () => {
    const before = await tsco(['plugin', 'doc']);
    assert.equal(before.code, 0, before.stderr);
    assert.match(before.stdout, /^ {2}rpcutil\s+1\.0\.0\s+local\s+General helpful actions/m);
    assert.doesNotMatch(before.stdout, /nettest/);

    const nettest = await tsco(['plugin', 'doc', 'nettest']);
    assert.equal(nettest.code, 0, nettest.stderr);
    assert.match(nettest.stdout, /^nettest\n=======\n/);
    assert.match(nettest.stdout, /Timeout: 40 seconds/);
    assert.match(nettest.stdout, /Source: network \((web1|web2|db1)\), now cached/);
    assert.match(nettest.stdout, /connect action:[\s\S]*INPUT:\n\s+host:\n\s+Description: Target host\n[\s\S]*?Type: string\n\s+Optional: false\n\s+Pattern: \^\[A-Za-z0-9\]/);
    assert.match(nettest.stdout, /timeout:\n[\s\S]*?Type: number\n[\s\S]*?Default: 5/);
    assert.match(nettest.stdout, /OUTPUT:\n\s+host:[\s\S]*connected:\n\s+Description: Whether the connection opened\n\s+Display As: Connected\n\s+Type: boolean/);
    assert.ok(existsSync(join(cacheHome, 'tscollective', 'ddl', 'nettest@1.0.0.json')));

    const refreshed = await tsco(['plugin', 'doc', 'nettest/echo', '--refresh']);
    assert.equal(refreshed.code, 0, refreshed.stderr);
    assert.match(refreshed.stdout, /Source: network/);
    assert.match(refreshed.stdout, /echo action:/);
    assert.doesNotMatch(refreshed.stdout, /connect action:/);
    const cached = await tsco(['plugin', 'doc', 'nettest/echo']);
    assert.match(cached.stdout, /Source: cache/);

    const listed = await tsco(['plugin', 'doc']);
    assert.match(listed.stdout, /^ {2}nettest\s+1\.0\.0\s+cache\s+Network checks/m);

    const ping = await tsco(['plugin', 'doc', 'rpcutil/get_fact']);
    assert.equal(ping.code, 0, ping.stderr);
    assert.match(ping.stdout, /get_fact action:[\s\S]*fact:\n\s+Description: The fact to retrieve[\s\S]*OUTPUT:\n\s+fact:[\s\S]*value:\n[\s\S]*Display As: Value[\s\S]*SUMMARIES:\n\s+summary\(value\)/);
    assert.doesNotMatch(ping.stdout, /ping action:/);

    const external = await tsco(['plugin', 'doc', 'sysinfo/disk', '--json']);
    assert.equal(external.code, 0, external.stderr);
    const doc = JSON.parse(external.stdout) as { metadata: { name: string }; actions: Record<string, { input: Record<string, { default: string }> }> };
    assert.equal(doc.metadata.name, 'sysinfo');
    assert.equal(doc.actions['disk']!.input['path']!.default, '/');

    const unknown = await tsco(['plugin', 'doc', 'nosuchagent', '--dt', '1']);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /no description of agent nosuchagent: no node hosting nosuchagent answered discovery/);
  });

  rabbit.test('rpc types inputs from a fetched description (message=007 stays text) and prints display names', async () => {
    const echo = await tsco(['rpc', 'nettest', 'echo', 'message=007', '-I', 'web1', '--json']);
    assert.equal(echo.code, 0, echo.stderr);
    assert.equal(JSON.parse(echo.stdout).items[0].data.message, '007');
    const refused = await tsco(['rpc', 'nettest', 'connect', 'host=bad host!', 'port=99999', '-I', 'web1']);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /input host: "bad host!" does not match/);
    assert.match(refused.stderr, /input port: 99999 is above the maximum 65535/);

    const greeted = await tsco(['rpc', 'greeter', 'greet', 'name=123', '-I', 'db1']);
    assert.equal(greeted.code, 0, greeted.stderr);
    assert.match(greeted.stdout, /^db1\n\s+Greeting: hello 123\n/m);
    assert.ok(readdirSync(join(cacheHome, 'tscollective', 'ddl')).includes('greeter@0.3.0.json'));
  });

  rabbit.test('aggregate summaries after the results, and in --json as their own member', async () => {
    const facts = await tsco(['rpc', 'rpcutil', 'get_fact', 'fact=country']);
    assert.equal(facts.code, 0, facts.stderr);
    assert.match(facts.stdout, /^web1\n\s+Fact: country\n\s+Value: uk\n/m);
    assert.match(facts.stdout, /Summary of Value:\n\n {3}uk = 2\n {3}de = 1\n\nFinished processing 3 \/ 3 hosts/);

    const ping = await tsco(['rpc', 'rpcutil', 'ping', '--json']);
    const doc = JSON.parse(ping.stdout) as { items: unknown[]; aggregates: Array<{ function: string; output: string; value: number; replies: number }> };
    assert.deepEqual(Object.keys(doc).sort(), ['aggregates', 'items', 'stats']);
    assert.deepEqual(doc.aggregates.map((a) => [a.function, a.output, a.replies]), [['min', 'pong', 3], ['max', 'pong', 3], ['average', 'pong', 3]]);

    const disk = await tsco(['rpc', 'sysinfo', 'disk']);
    assert.equal(disk.code, 0, disk.stderr);
    assert.match(disk.stdout, /Used %: [\d.]+/);
    assert.match(disk.stdout, /Summary of Used %:\n\n {3}Average: [\d.]+\n {3}Maximum: [\d.]+\n\nSummary of Free:\n\n {3}Minimum: \d+/);
  });

  rabbit.test('the display policy decides which replies print; --display overrides it', async () => {
    // sysinfo#runtime declares display "failed": successful replies are not printed, the summaries are.
    const quiet = await tsco(['rpc', 'sysinfo', 'runtime']);
    assert.equal(quiet.code, 0, quiet.stderr);
    assert.doesNotMatch(quiet.stdout, /^(web1|web2|db1)$/m);
    assert.match(quiet.stdout, /Summary of Python:\n\n {3}\d+\.\d+\.\d+ = 3/);
    const all = await tsco(['rpc', 'sysinfo', 'runtime', '--display', 'all']);
    for (const node of ['web1', 'web2', 'db1']) assert.match(all.stdout, new RegExp(`^${node}\\n\\s+Python: `, 'm'));
    const onlyFailed = await tsco(['rpc', 'rpcutil', 'ping', '--display', 'failed']);
    assert.doesNotMatch(onlyFailed.stdout, /^\s+Timestamp: /m);
    assert.match(onlyFailed.stdout, /Summary of Timestamp:/);
    const json = JSON.parse((await tsco(['rpc', 'sysinfo', 'runtime', '--json'])).stdout) as { items: unknown[] };
    assert.equal(json.items.length, 3, '--json lists every reply whatever the display policy');
    const failures = await tsco(['rpc', 'sysinfo', 'disk', 'path=/no/such/dir', '--display', 'ok']);
    assert.equal(failures.code, 2);
    assert.doesNotMatch(failures.stdout, /cannot read/);
    const bad = await tsco(['rpc', 'rpcutil', 'ping', '--display', 'some']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /--display.*Allowed choices are ok, failed, all/);
  });
});
