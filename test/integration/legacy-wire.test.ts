/**
 * The legacy wire mode end to end through real brokers: a legacy-mode `tsco` (plugin.aes.protocol = 1) against
 * legacy-mode tscollectived nodes (plugin.aes.legacy = 1) over RabbitMQ STOMP and ActiveMQ STOMP, in YAML and in
 * Marshal: discovery, a compound filter in Ruby's parsed form, a directed request, registration in version 1 (one-way,
 * as MCollective), replies shown as unauthenticated, a version 2 node of the same collective refusing the version 1
 * traffic, and a version 2 client still served by the legacy nodes (the mixed fleet of a migration).
 */
import { after, before, describe } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import '../../plugins/connector/stomp/index.js';
import { RegistrationStore } from '../../src/registration/store.js';
import { startCluster, type Cluster } from '../client/cluster.js';
import { waitFor } from '../harness/wait.js';
import { brokerGate, stompTestSettings, type BrokerName } from './harness/brokers.js';

const TSCO = fileURLToPath(new URL('../../src/cli/tsco.js', import.meta.url));

interface Run { code: number; stdout: string; stderr: string }
interface Doc { items: Array<Record<string, unknown>>; stats: Record<string, unknown> }

function tsco(config: string, args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [TSCO, '--config', config, ...args], { timeout: 60_000 }, (error, stdout, stderr) => {
      const code = error && typeof (error as { code?: unknown }).code === 'number' ? (error as { code: number }).code : error ? -1 : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

async function json(config: string, args: string[]): Promise<{ run: Run; doc: Doc }> {
  const run = await tsco(config, [...args, '--json', '--dt', '2', '-t', '5']);
  try {
    return { run, doc: JSON.parse(run.stdout) as Doc };
  } catch {
    throw new Error(`tsco ${args.join(' ')} did not print JSON (exit ${run.code}):\n${run.stdout}\n${run.stderr}`);
  }
}

const senders = (doc: Doc) => doc.items.map((item) => String(item['sender'])).sort();
const gates: Record<BrokerName, Awaited<ReturnType<typeof brokerGate>>> = { rabbitmq: await brokerGate('rabbitmq'), activemq: await brokerGate('activemq') };

for (const broker of ['rabbitmq', 'activemq'] as const) {
  for (const serializer of ['yaml', 'marshal'] as const) {
    const gate = gates[broker];
    describe(`legacy wire mode over ${broker} STOMP, ${serializer}`, () => {
      let cluster: Cluster;
      let v1Client: string;
      let v2Client: string;
      const storeDir = mkdtempSync(join(tmpdir(), 'tsc-legacy-store-'));

      before(async () => {
        if (!gate.reachable) return;
        const collective = `legacy${process.pid}${broker[0]}${serializer[0]}`;
        cluster = await startCluster({
          connector: broker, ...stompTestSettings(broker) as Record<string, string | number>, collectives: collective, main_collective: collective,
          'plugin.aes.legacy': 1, 'plugin.aes.serializer': serializer, 'plugin.aes.accept_serializers': 'msgpack, yaml',
        }, [
          // web1 registers in version 1; db1 collects registrations; v2only speaks version 2 alone.
          { identity: 'web1', facts: { country: 'uk', role: 'web' }, classes: ['web'], settings: { registerinterval: 1, registration: 'facts', 'plugin.aes.protocol': 1 } },
          { identity: 'db1', facts: { country: 'uk', role: 'db' }, classes: ['db'], settings: { 'plugin.registration.store_dir': storeDir } },
          { identity: 'v2only', facts: { country: 'uk', role: 'web' }, classes: ['web'], settings: { 'plugin.aes.legacy': 0, 'plugin.aes.serializer': 'msgpack' } },
        ], { registration: 'policy default deny\nallow\tcert=web1\tregister\t*\t*\n' });
        v1Client = cluster.writeClientConfig('v1.cfg', { 'plugin.aes.protocol': 1 });
        v2Client = cluster.writeClientConfig('v2.cfg', { 'plugin.aes.legacy': 0, 'plugin.aes.serializer': 'msgpack' });
      });
      after(async () => {
        await cluster?.stop();
        rmSync(storeDir, { recursive: true, force: true });
      });
      const daemon = (identity: string) => cluster.daemons.find((d) => d.identity === identity)!;

      gate.test('tsco ping in version 1: the legacy nodes answer, unauthenticated; the version 2 node refuses version 1', async () => {
        const { run, doc } = await json(v1Client, ['ping']);
        assert.equal(run.code, 0, run.stderr);
        assert.deepEqual(senders(doc), ['db1', 'web1']);
        for (const item of doc.items) {
          assert.equal(item['sender_proof'], 'unsigned');
          assert.equal(item['sender_authenticated'], false);
        }
        assert.match(run.stderr, /legacy wire mode: this client writes protocol version 1/);
        assert.ok(daemon('v2only').counters.get('security.TSC_SEC_LEGACY_REFUSED') >= 1, 'the version 2 node saw version 1 traffic and refused it');
        if (broker === 'rabbitmq' && serializer === 'marshal') {
          const text = await tsco(v1Client, ['ping', '--dt', '2']);
          assert.match(text.stdout, /^web1 \[unauthenticated: unsigned reply\]\s+time=/m);
        }
      });

      gate.test('tsco rpc in version 1: discovery with a compound filter, then a directed request; inputs and outputs as Ruby writes them', async () => {
        const discovered = await json(v1Client, ['rpc', 'rpcutil', 'ping', '-S', 'country=uk and not role=db']);
        assert.equal(discovered.run.code, 0, discovered.run.stderr);
        assert.deepEqual(senders(discovered.doc), ['web1']);
        assert.equal(discovered.doc.stats['discovered'], 1);
        const item = discovered.doc.items[0]!;
        assert.equal(typeof (item['data'] as { pong?: unknown }).pong, 'number');
        assert.equal(item['sender_proof'], 'unsigned');

        const directed = await json(v1Client, ['rpc', 'rpcutil', 'get_fact', 'fact=role', '-I', 'db1']);
        assert.equal(directed.run.code, 0, directed.run.stderr);
        assert.equal(directed.doc.stats['discoveryPerformed'], true);
        assert.deepEqual(senders(directed.doc), ['db1']);
        assert.deepEqual(directed.doc.items[0]!['data'], { fact: 'role', value: 'db' });
      });

      gate.test('registration in version 1: web1 registers one-way, db1 stores it, bound to web1\'s key, and does not answer', async () => {
        const store = RegistrationStore.open(storeDir);
        await waitFor(() => store.get('web1') !== undefined, { timeoutMs: 15_000, what: 'web1 registered with db1' });
        const record = store.get('web1')!;
        assert.equal(record.signer, 'cert=web1');
        assert.equal(record.senderProof, 'key-name');
        assert.deepEqual({ ...record.facts }, { country: 'uk', role: 'web' });
        const web1 = daemon('web1').counters;
        assert.ok(web1.get('registration.unacknowledged') >= 1);
        assert.equal(web1.get('registration.failed'), 0);
        assert.ok(daemon('db1').counters.get('replies.not_wanted') >= 1, 'the acknowledgement was held back: version 1 has none');
      });

      gate.test('a version 2 client in the same collective is served by every node, with signed replies', async () => {
        const { run, doc } = await json(v2Client, ['ping']);
        assert.equal(run.code, 0, run.stderr);
        assert.deepEqual(senders(doc), ['db1', 'v2only', 'web1']);
        for (const item of doc.items) assert.equal(item['sender_proof'], 'key-name');
        assert.doesNotMatch(run.stderr, /legacy wire mode/);
      });
    });
  }
}
