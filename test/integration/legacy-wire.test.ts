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
import { readFileSync } from 'node:fs';
import { createStompConnector } from '../../plugins/connector/stomp/index.js';
import { configFromObject } from '../../src/config/index.js';
import type { Connector, InboundMessage } from '../../src/inter/connector.js';
import { RecordFiles } from '../../src/registration/record-files.js';
import { MemoryCounters } from '../../src/util/counters.js';
import { CapturingLogger } from '../../src/util/log.js';
import { startCluster, type Cluster } from '../client/cluster.js';
import { waitFor } from '../harness/wait.js';
import { brokerGate, stompTestSettings, type BrokerName } from './harness/brokers.js';

const TSCO = fileURLToPath(new URL('../../src/cli/tsco.js', import.meta.url));
/** The headers of a discovery request as Ruby's mco sent it through RabbitMQ (test/fixtures/interop). */
const RUBY_DISCOVERY_HEADERS = JSON.parse(readFileSync(new URL('../../../test/fixtures/interop/marshal/request-discovery-ping.headers.json', import.meta.url), 'utf8')) as Record<string, string>;

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
      let sniffer: Connector | undefined;
      const sniffed: InboundMessage[] = [];
      const collective = `legacy${process.pid}${broker[0]}${serializer[0]}`;
      const storeDir = mkdtempSync(join(tmpdir(), 'tsc-legacy-store-'));

      before(async () => {
        if (!gate.reachable) return;
        cluster = await startCluster({
          connector: broker, ...stompTestSettings(broker) as Record<string, string | number>, collectives: collective, main_collective: collective,
          'plugin.aes.legacy': 1, 'plugin.aes.serializer': serializer, 'plugin.aes.accept_serializers': 'msgpack, yaml',
        }, [
          // web1 registers in version 1; db1 collects registrations; v2only speaks version 2 alone.
          {
            identity: 'web1', facts: { country: 'uk', role: 'web' }, classes: ['web'],
            settings: { registerinterval: 1, registration: 'facts', 'plugin.aes.protocol': 1, rpcaudit: 1, 'plugin.rpcaudit.logfile': join(storeDir, 'audit.log') },
          },
          { identity: 'db1', facts: { country: 'uk', role: 'db' }, classes: ['db'], settings: { 'plugin.registration.store_dir': storeDir } },
          { identity: 'v2only', facts: { country: 'uk', role: 'web' }, classes: ['web'], settings: { 'plugin.aes.legacy': 0, 'plugin.aes.serializer': 'msgpack' } },
        ], { policies: { 'registration.policy': 'policy default deny\nallow\tcert=web1\tregister\t*\t*\n' } });
        v1Client = cluster.writeClientConfig('v1.cfg', { 'plugin.aes.protocol': 1 });
        v2Client = cluster.writeClientConfig('v2.cfg', { 'plugin.aes.legacy': 0, 'plugin.aes.serializer': 'msgpack' });
        // Sees the discovery requests as any subscriber (a Ruby node) receives them.
        sniffer = createStompConnector(broker, {
          config: configFromObject(stompTestSettings(broker), { source: 'legacy-wire sniffer' }), identity: 'sniffer', logger: new CapturingLogger(), counters: new MemoryCounters(),
        });
        await sniffer.connect();
        await sniffer.subscribeBroadcast(collective, 'discovery', (message) => { sniffed.push(message); });
      });
      after(async () => {
        await sniffer?.disconnect();
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
        // On the wire: a version 1 body with MCollective's headers, as Ruby's mco sends them.
        const request = sniffed.find((message) => message.sender === 'tester')!;
        assert.ok(request, 'the sniffer saw the ping');
        assert.equal(Buffer.from(request.body.subarray(0, 3)).toString('latin1'), serializer === 'yaml' ? '---' : '\x04\x08{');
        const headers = request.headers;
        assert.equal(headers['mc_sender'], 'tester');
        if (broker === 'rabbitmq') {
          assert.equal(headers['destination'], RUBY_DISCOVERY_HEADERS['destination']!.replace('interop', collective));
          assert.equal(headers['expiration'], RUBY_DISCOVERY_HEADERS['expiration'], 'expiration (ttl + 10) * 1000 ms, as Ruby writes it for ttl 60');
          assert.match(headers['reply-to']!, /^\/reply-queue\/amq\.gen-/, 'a temp queue, rewritten by RabbitMQ as for Ruby');
        } else {
          assert.equal(headers['destination'], `/topic/${collective}.discovery.agent`);
          assert.equal(Number(headers['expires']) - Number(headers['timestamp']), 70_000, 'expires = timestamp + (ttl + 10) s');
          assert.match(headers['reply-to']!, new RegExp(`^/queue/${collective}\\.reply\\.tester_\\d+\\.\\d+$`));
        }
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

      // Authorization and audit do not depend on the broker: checked over RabbitMQ, in both serializers.
      if (broker === 'rabbitmq') gate.test('version 1 requests pass authorization and audit: an allowed call is audited, a denied one answered status 1', async () => {
        const allowed = await json(v1Client, ['rpc', 'example', 'echo', 'message=hi', '-I', 'web1']);
        assert.equal(allowed.run.code, 0, allowed.run.stderr);
        assert.deepEqual(allowed.doc.items[0]!['data'], { message: 'hi', node: 'web1' });
        const denied = await json(v1Client, ['rpc', 'example', 'secret', '-I', 'web1']);
        assert.equal(denied.run.code, 2);
        assert.equal(denied.doc.items[0]!['statuscode'], 1);
        assert.match(String(denied.doc.items[0]!['statusmsg']), /cert=tester is not authorized to call example#secret/);
        const audit = readFileSync(join(storeDir, 'audit.log'), 'utf8');
        const requestid = (allowed.doc.stats['requestids'] as string[])[0]!;
        assert.match(audit, new RegExp(`${requestid}.*cert=tester@tester.*example.*echo`));
        assert.doesNotMatch(audit, new RegExp((denied.doc.stats['requestids'] as string[])[0]!));
      });

      gate.test('registration in version 1: web1 registers one-way, db1 stores it, bound to web1\'s key, and does not answer', async () => {
        const store = RecordFiles.open(storeDir);
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
