/**
 * The client process of the fleet bench (forked by fleet.ts): a real RpcClient (connectClient, aes_security
 * client role) broadcasts rpcutil#ping to every virtual server, once to warm up, then `rounds` times measured: wall
 * time from the call until every reply arrived verified, and this process's CPU time (after three warm-up rounds). Then the floor (fleet-floor.ts)
 * in the same process, and, when asked, a profiled extra round telling how much of the CPU went to resolving
 * server keys.
 */
import { Session } from 'node:inspector/promises';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connectClient, type ClientSession } from '../src/client/index.js';
import { configFromObject } from '../src/config/index.js';
import { loadBuiltinPlugins } from '../src/runtime/builtin-plugins.js';
import { createLogger } from '../src/util/log.js';
import type { FleetPair } from './fleet-keys.js';
import { measureFloor } from './fleet-floor.js';
import { median, type ClientResult, type ClientSpec, type RoundResult } from './fleet-spec.js';

/** Unmeasured broadcasts before the measured ones. */
const WARM_UP_ROUNDS = 3;

/** One broadcast to every node; its problems are appended to `problems`. */
async function round(session: ClientSession, spec: ClientSpec, problems: string[]): Promise<RoundResult> {
  const before = process.cpuUsage();
  const started = performance.now();
  const result = await session.client.call('rpcutil', 'ping', {}, { nodes: spec.nodes, timeoutMs: spec.timeoutMs });
  const wall = performance.now() - started;
  const cpu = process.cpuUsage(before);
  const failed = result.items.filter((item) => item.statuscode !== 0 || item.senderProof !== 'key-name');
  if (result.items.length !== spec.nodes.length) problems.push(`${result.items.length} of ${spec.nodes.length} replies (missing: ${result.stats.noResponses.slice(0, 5).join(', ')}...)`);
  if (failed.length > 0) problems.push(`${failed.length} replies failed or unproven (first: ${failed[0]!.sender} ${failed[0]!.statuscode} ${failed[0]!.senderProof})`);
  return { wall_ms: wall, cpu_ms: (cpu.user + cpu.system) / 1000, replies: result.items.length };
}

interface ProfileNode { id: number; callFrame: { functionName: string; url: string }; children?: number[] }

/** The share of a profile's samples spent under a key resolution frame (`resolve` in aes_security or a keyring). */
function keyResolutionShare(profile: { nodes: ProfileNode[]; samples: number[] }): number {
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const resolving = new Map<number, boolean>();
  const isResolving = (id: number): boolean => {
    let known = resolving.get(id);
    if (known === undefined) {
      const frame = byId.get(id)!.callFrame;
      const here = frame.functionName === 'resolve' && /aes_security|keyring/.test(frame.url);
      const up = parent.get(id);
      known = here || (up !== undefined && isResolving(up));
      resolving.set(id, known);
    }
    return known;
  };
  const idle = new Set(profile.nodes.filter((node) => ['(idle)', '(program)'].includes(node.callFrame.functionName)).map((node) => node.id));
  const busy = profile.samples.filter((id) => !idle.has(id));
  return busy.length === 0 ? 0 : busy.filter(isResolving).length / busy.length;
}

async function run(spec: ClientSpec & { signers: FleetPair[] }): Promise<ClientResult> {
  const plugins = await loadBuiltinPlugins();
  if (plugins.failed.length > 0) throw new Error(`plugins failed to load: ${plugins.failed.join('; ')}`);
  const config = configFromObject({
    identity: spec.client.name, collectives: spec.collective, main_collective: spec.collective, securityprovider: 'aes_security', ...spec.connector,
    'plugin.aes.client_private': spec.client.privatePath, 'plugin.aes.client_public': spec.client.publicPath,
    'plugin.aes.client_cert_dir': spec.serverCertDir, 'plugin.aes.reply_encryption': spec.mode,
  }, { source: 'fleet client' });
  const session = await connectClient(config, { logger: createLogger({ level: 'warn', file: join(spec.runDir, 'client.log'), name: 'fleet-client' }) });
  const problems: string[] = [];
  try {
    // Warm: the first broadcasts fill the key caches and let the JIT compile the reply path.
    const warmUp: RoundResult[] = [];
    for (let index = 0; index < WARM_UP_ROUNDS; index++) warmUp.push(await round(session, spec, []));
    const rounds: RoundResult[] = [];
    for (let index = 0; index < spec.rounds; index++) rounds.push(await round(session, spec, problems));
    let share: number | undefined;
    if (spec.profile) {
      const inspector = new Session();
      inspector.connect();
      await inspector.post('Profiler.enable');
      await inspector.post('Profiler.setSamplingInterval', { interval: 100 });
      await inspector.post('Profiler.start');
      const profiled = await round(session, spec, problems);
      const { profile } = await inspector.post('Profiler.stop');
      inspector.disconnect();
      share = keyResolutionShare(profile as unknown as { nodes: ProfileNode[]; samples: number[] });
      if (spec.profileOut) writeFileSync(spec.profileOut, JSON.stringify(profile));
      rounds.push({ ...profiled, profiled: true } as RoundResult);
    }
    const measured = rounds.filter((entry) => !(entry as { profiled?: boolean }).profiled);
    const cpuPerReply = median(measured.map((entry) => entry.cpu_ms / Math.max(1, entry.replies)));
    return {
      rounds, problems, warm_up: warmUp,
      floor_cpu_ms_per_reply: measureFloor(spec.mode, spec.nodes.length, spec.signers, spec.client),
      ...(share !== undefined ? { key_resolution_ms_per_reply: share * cpuPerReply } : {}),
      rss_mb: Math.round(process.memoryUsage().rss / 2 ** 20),
    };
  } finally {
    await session.close();
  }
}

process.on('message', (message: { type: 'run'; spec: ClientSpec & { signers: FleetPair[] } }) => {
  run(message.spec).then(
    (result) => process.send?.({ type: 'result', result }, () => process.disconnect?.()),
    (error: unknown) => process.send?.({ type: 'error', message: (error as Error).stack ?? String(error) }, () => process.disconnect?.()),
  );
});
