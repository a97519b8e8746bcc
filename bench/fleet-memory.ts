/**
 * `npm run bench:fleet-memory -- [--nodes 10000] [--keys K] [--mode rsa|ephemeral] [--json]`: the client's memory
 * at fleet scale. A real RpcClient (aes_security client role, memory connector) broadcasts rpcutil#ping to N virtual
 * nodes (virtual-fleet.ts) whose replies are real aes_security replies signed by K server keys (node i signs with
 * key i mod K; the client's identity_map binds each key to its nodes, so every reply's sender is proven). Then it
 * formats the replies as tsco does (text and the --json document). Prints
 * `{nodes, server_keys, mode, replies, verified, wall_ms, rss_start_mb, rss_peak_mb, heap_retained_mb, json_output_mb}`:
 * the RSS is the whole process's (client, broker and virtual fleet), so it bounds the client's from above; the
 * retained heap is what the client holds once the call returned (with --expose-gc, as the npm script runs it).
 * Exits 1 unless every reply arrived and verified.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryBroker } from '../plugins/connector/memory/index.js';
import { formatSummary, jsonDocument } from '../src/cli/tsco/output.js';
import { formatDescribedReply } from '../src/cli/tsco/rpc-format.js';
import { RpcClient } from '../src/client/index.js';
import { configFromObject } from '../src/config/index.js';
import { createConnector } from '../src/connector/registry.js';
import type { Logger } from '../src/inter/logger.js';
import type { DecodedRequest } from '../src/inter/message.js';
import { loadBuiltinPlugins } from '../src/runtime/builtin-plugins.js';
import { createSecurityProvider } from '../src/security/registry.js';
import { MemoryCounters } from '../src/util/counters.js';
import rpcutil from '../plugins/agent/rpcutil.js';
import { CLIENT_NAME, fleetKeys, trustDirectory } from './fleet-keys.js';
import { VirtualFleet } from './virtual-fleet.js';

const args = process.argv.slice(2);
const option = (name: string, fallback: string): string => {
  const index = args.indexOf(name);
  return index >= 0 ? args[index + 1] ?? fallback : fallback;
};
const nodes = Number(option('--nodes', '10000'));
const keyCount = Math.min(nodes, Number(option('--keys', '100')));
const mode = option('--mode', 'ephemeral');
if (!Number.isSafeInteger(nodes) || nodes < 1 || !Number.isSafeInteger(keyCount) || keyCount < 1) throw new Error('--nodes and --keys: whole numbers >= 1');
if (mode !== 'rsa' && mode !== 'ephemeral') throw new Error(`--mode: expected rsa or ephemeral, got ${mode}`);

/** Virtual node `index`: the key's own name for the first K, then `<key name>-<index>` (bound by the identity map). */
const identity = (index: number): string => (index < keyCount ? `fleet-node-${index}` : `fleet-node-${index % keyCount}-${index}`);

const silent: Logger = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {}, child: () => silent };
const mb = (bytes: number) => Math.round((bytes / 2 ** 20) * 10) / 10;
const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});

async function main(): Promise<number> {
  await loadBuiltinPlugins();
  const keys = await fleetKeys(keyCount, undefined, (line) => process.stderr.write(`bench:fleet-memory: ${line}\n`));
  const dir = mkdtempSync(join(tmpdir(), 'tsc-fleet-memory-'));
  try {
    const serverCerts = trustDirectory(join(dir, 'server-certs'), keys.nodes);
    const clientCerts = trustDirectory(join(dir, 'client-certs'), [keys.client]);
    const map = keys.nodes.map((key, k) => [key.name, ...Array.from({ length: Math.ceil((nodes - k) / keyCount) }, (_, j) => identity(k + j * keyCount)).slice(1)]);
    writeFileSync(join(dir, 'identity-map'), map.filter((line) => line.length > 1).map((line) => line.join(' ')).join('\n') + '\n');
    const servers = keys.nodes.map((key, k) => createSecurityProvider('aes_security', {
      config: configFromObject({
        statedir: join(dir, 'state'), 'plugin.aes.server_private': key.privatePath, 'plugin.aes.server_public': key.publicPath,
        'plugin.aes.client_cert_dir': clientCerts, 'plugin.aes.replay_journal': join(dir, 'state', `journal-${k}`),
      }),
      role: 'server', logger: silent, counters: new MemoryCounters(),
    }));
    const security = createSecurityProvider('aes_security', {
      config: configFromObject({
        'plugin.aes.client_private': keys.client.privatePath, 'plugin.aes.client_public': keys.client.publicPath,
        'plugin.aes.client_cert_dir': serverCerts, 'plugin.aes.identity_map': join(dir, 'identity-map'), 'plugin.aes.reply_encryption': mode,
      }),
      role: 'client', logger: silent, counters: new MemoryCounters(),
    });
    const broker = MemoryBroker.named(`fleet-memory-${process.pid}`);
    const connector = (name: string, role: 'client' | 'daemon') => createConnector('memory', {
      config: configFromObject({ 'plugin.memory.broker': broker.name }), identity: name, logger: silent, counters: new MemoryCounters(), role,
    });
    const fleetConnector = connector('fleet', 'daemon');
    const clientConnector = connector(CLIENT_NAME, 'client');
    await fleetConnector.connect();
    await clientConnector.connect();
    const collective = 'fleetmemory';
    const fleet = await VirtualFleet.start({
      connector: fleetConnector, collective, agents: ['rpcutil'],
      plan: (request, agent) => {
        const decoded: DecodedRequest[] = servers.map((server) => server.decodeRequest(request));
        const pong = Math.floor(Date.now() / 1000);
        return {
          count: nodes,
          encode: (index) => servers[index % keyCount]!.encodeReply({
            senderid: identity(index), senderagent: agent, body: { statuscode: 0, statusmsg: 'OK', data: { pong } },
          }, decoded[index % keyCount]!),
        };
      },
    });
    const client = new RpcClient({
      identity: CLIENT_NAME, connector: clientConnector, security, logger: silent, counters: new MemoryCounters(), mainCollective: collective,
      timeoutMs: 1_800_000,
    });
    const targets = Array.from({ length: nodes }, (_, index) => identity(index));

    gc();
    const heapBefore = process.memoryUsage().heapUsed;
    const rssStart = process.memoryUsage.rss();
    let rssPeak = rssStart;
    const sampler = setInterval(() => { rssPeak = Math.max(rssPeak, process.memoryUsage.rss()); }, 50);
    const started = performance.now();
    const result = await client.call('rpcutil', 'ping', {}, { nodes: targets });
    const wallMs = performance.now() - started;
    fleet.check();
    // What tsco prints: each reply, the summary, and the --json document.
    let text = 0;
    for (const item of result.items) text += formatDescribedReply(item, rpcutil.ddl.actions['ping']).length;
    text += formatSummary(result.stats, true).length;
    const json = jsonDocument(result.items, result.stats).length;
    rssPeak = Math.max(rssPeak, process.memoryUsage.rss());
    clearInterval(sampler);
    gc();
    const heapRetained = process.memoryUsage().heapUsed - heapBefore;

    const unproven = result.items.filter((item) => item.statuscode !== 0 || !['key-name', 'mapping'].includes(item.senderProof));
    const verified = result.items.length === nodes && unproven.length === 0 && result.stats.noResponses.length === 0;
    const row = {
      nodes, server_keys: keyCount, mode, replies: result.items.length, verified, wall_ms: Math.round(wallMs),
      rss_start_mb: mb(rssStart), rss_peak_mb: mb(rssPeak), heap_retained_mb: mb(heapRetained), text_output_mb: mb(text), json_output_mb: mb(json),
    };
    if (args.includes('--json')) {
      console.log(JSON.stringify({ 'fleet/memory': row }));
    } else {
      console.log(`fleet/memory: ${nodes} virtual nodes (${keyCount} server keys, ${mode} replies) over the memory connector`);
      console.log(`  ${row.replies} replies ${verified ? 'received and verified' : `NOT ALL VERIFIED (${unproven.length} failed or unproven)`} in ${row.wall_ms} ms`);
      console.log(`  process RSS ${row.rss_start_mb} MB before the call, ${row.rss_peak_mb} MB at its peak (target for the client: < 250 MB)`);
      console.log(`  heap the client retains with the result: ${row.heap_retained_mb} MB; output: ${row.text_output_mb} MB text, ${row.json_output_mb} MB JSON`);
    }
    await client.close();
    await fleet.stop();
    await clientConnector.disconnect();
    await fleetConnector.disconnect();
    return verified ? 0 : 1;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().then((code) => { process.exitCode = code; }, (error: unknown) => {
  process.stderr.write(`bench:fleet-memory: ${(error as Error).stack ?? String(error)}\n`);
  process.exitCode = 1;
});
