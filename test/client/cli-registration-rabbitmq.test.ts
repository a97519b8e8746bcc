/**
 * `tsco --dm registration` as a subprocess over RabbitMQ (the amqp connector, 127.0.0.1:5672): in-process aes_security
 * daemons register with a collector (plugin.registration.activate_agent = 1, the default sqlite store), and the CLI,
 * whose configuration names no store, discovers through registration_query#find. Without RabbitMQ its tests are
 * skipped with the reason (and fail under CI=true).
 */
import { after, before, describe } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import '../../plugins/connector/amqp/index.js';
import { amqpGate } from '../integration/harness/brokers.js';
import { waitFor } from '../daemon/helpers.js';
import { startCluster, type Cluster, type NodeSpec } from './cluster.js';

const TSCO = fileURLToPath(new URL('../../src/cli/tsco.js', import.meta.url));
const COLLECTIVE = `tscoreg${process.pid}`;
const AMQP = {
  connector: 'amqp', 'plugin.amqp.host': '127.0.0.1', 'plugin.amqp.port': 5672, 'plugin.amqp.user': 'guest', 'plugin.amqp.password': 'guest',
  collectives: COLLECTIVE, main_collective: COLLECTIVE,
};
const registering = { registerinterval: 2, registration: 'facts' };
const NODES: NodeSpec[] = [
  { identity: 'collector', facts: { country: 'de', role: 'collector' }, classes: ['base'], settings: { ...registering, 'plugin.registration.activate_agent': 1 } },
  { identity: 'web1', facts: { country: 'uk', role: 'web' }, classes: ['web', 'base'], settings: registering },
  { identity: 'web2', facts: { country: 'de', role: 'web' }, classes: ['web', 'base'], settings: registering },
  { identity: 'db1', facts: { country: 'uk', role: 'db' }, classes: ['db', 'base'], settings: registering },
];

interface Run { code: number; stdout: string; stderr: string }

function tsco(config: string, args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [TSCO, '--config', config, ...args], { timeout: 60_000 }, (error, stdout, stderr) => {
      const code = error && typeof (error as { code?: unknown }).code === 'number' ? (error as { code: number }).code : error ? -1 : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

const rabbit = await amqpGate();

describe('tsco --dm registration over RabbitMQ', () => {
  let cluster: Cluster;
  let config: string;

  before(async () => {
    if (!rabbit.reachable) return;
    cluster = await startCluster(AMQP, NODES, {
      policies: { 'registration.policy': 'policy default deny\nallow\tcert=collector cert=web1 cert=web2 cert=db1\tregister\t*\t*\n' },
    });
    config = cluster.writeClientConfig('client.cfg');
    await waitFor(() => cluster.daemons.every((daemon) => daemon.counters.get('registration.acknowledged') >= 1), 'every node\'s first acknowledged registration', 30_000);
  });
  after(async () => {
    await cluster?.stop();
  });

  rabbit.test('a client whose configuration names no store discovers through the collector, with each filter kind', async () => {
    assert.doesNotMatch(readFileSync(config, 'utf8'), /plugin\.registration/);
    const cases: Array<[string[], string]> = [
      [['-F', 'country=uk'], 'db1\nweb1\n'],
      [['-C', 'web'], 'web1\nweb2\n'],
      [['-S', 'country=uk and not role=db'], 'web1\n'],
      [['-I', '/^(web|db)/'], 'db1\nweb1\nweb2\n'],
    ];
    for (const [filter, expected] of cases) {
      const run = await tsco(config, ['discover', '--dm', 'registration', '--dt', '2', ...filter]);
      assert.deepEqual(run, { code: 0, stdout: expected, stderr: '' }, filter.join(' '));
    }
    const json = JSON.parse((await tsco(config, ['discover', '--dm', 'registration', '--dt', '2', '-C', 'web', '--json'])).stdout) as Record<string, unknown>;
    assert.deepEqual([json['nodes'], json['unauthenticated']], [['web1', 'web2'], []]);
  });

  rabbit.test('tsco rpc --dm registration calls exactly the nodes the collector names', async () => {
    const run = await tsco(config, ['rpc', 'rpcutil', 'ping', '--dm', 'registration', '--dt', '2', '-t', '5', '-F', 'role=db', '--json']);
    assert.equal(run.code, 0, run.stderr);
    const doc = JSON.parse(run.stdout) as { items: Array<{ sender: string; statuscode: number }>; stats: { discovered: number } };
    assert.deepEqual(doc.items.map((item) => [item.sender, item.statuscode]), [['db1', 0]]);
    assert.equal(doc.stats.discovered, 1);
  });
});
