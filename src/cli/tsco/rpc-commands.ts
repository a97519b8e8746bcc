/**
 * The RPC commands: `ping`, `discover`, `rpc AGENT ACTION [key=value ...]` and `inventory NODE`.
 * Each returns its exit code (MCollective's: 0 ok, 1 nothing discovered, 2 failures, 3 no responses,
 * 4 no discovery and no responses).
 */
import type { Command } from 'commander';
import {
  ExitCode, FlatFileDiscoverer, RegistrationDiscoverer, connectClient, exitCodeFor,
  type ClientSession, type Discoverer, type RpcCallOptions, type RpcReply, type RpcStats,
} from '../../client/index.js';
import { InvalidArgumentError } from '../../errors.js';
import type { ConfigView } from '../../inter/config.js';
import { readClientSettings } from '../../client/settings.js';
import { RegistrationStore } from '../../registration/store.js';
import { loadClientConfig, type GlobalOptions } from './context.js';
import { convertInputs, findLocalAgent } from './inputs.js';
import { clientLogger } from './log.js';
import { addCallOptions, addFilterOptions, callOptionsFromOptions, type CommonOptions } from './options.js';
import { formatReply, formatSummary, formatValue, jsonDocument, progress, type Streams } from './output.js';

/**
 * Runs `body` with a connected client built from the configuration, closing it afterwards. Connecting gives up
 * within the connector's connect_timeout, or `-t` seconds when that is shorter (BrokerUnavailableError).
 */
async function withClient(
  globals: GlobalOptions, streams: Streams, options: Pick<CommonOptions, 'timeout'>, body: (session: ClientSession, config: ConfigView) => Promise<number>,
): Promise<number> {
  const config = await loadClientConfig(globals, streams);
  const logger = clientLogger(readClientSettings(config).settings, Boolean(globals.logJson), streams.err);
  const session = await connectClient(config, { logger, ...(options.timeout !== undefined ? { connectBudgetMs: options.timeout * 1000 } : {}) });
  try {
    return await body(session, config);
  } finally {
    await session.close();
  }
}

/**
 * The discoverer the options and configuration ask for: `--nodes FILE` (flatfile), `--dm registration`
 * (the store in plugin.registration.store_dir, nodes active within 3 registerinterval), or broadcast (`mc`).
 */
export function discovererFor(options: CommonOptions, config: ConfigView): Discoverer | undefined {
  const method = options.dm ?? (options.nodes ? 'flatfile' : config.raw('default_discovery_method') ?? 'mc');
  switch (method) {
    case 'mc':
      if (options.nodes) throw new InvalidArgumentError('--nodes: conflicts with --dm mc');
      return undefined;
    case 'flatfile':
      if (!options.nodes) throw new InvalidArgumentError('--dm flatfile: give the node list with --nodes FILE');
      return new FlatFileDiscoverer(options.nodes);
    case 'registration': {
      const dir = config.raw('plugin.registration.store_dir');
      if (!dir) throw new InvalidArgumentError(`--dm registration: plugin.registration.store_dir is not set in ${config.source}`);
      const interval = Number(config.raw('registerinterval') ?? 0);
      if (!(interval > 0)) throw new InvalidArgumentError(`--dm registration: registerinterval must be > 0 in ${config.source} to tell active nodes from stale ones`);
      return new RegistrationDiscoverer(RegistrationStore.open(dir), { interval });
    }
    default:
      throw new InvalidArgumentError(`discovery method ${JSON.stringify(method)}: expected mc, flatfile or registration`);
  }
}

/** `tsco ping`: every node's round trip as it answers, then count and min/max/avg. */
export async function pingCommand(options: CommonOptions, globals: GlobalOptions, streams: Streams): Promise<number> {
  refuseDiscoveryOptions(options, 'ping always broadcasts to the discovery agent');
  const call = callOptionsFromOptions(options);
  return withClient(globals, streams, options, async ({ client }) => {
    // Without -t, a ping listens for the discovery timeout (--dt), as long as a discovery would.
    const result = await client.ping(call);
    if (options.json) {
      const items: RpcReply[] = result.replies.map((r) => ({
        agent: 'discovery', action: 'ping', sender: r.sender, statuscode: 0, statusmsg: 'OK', data: { rtt_ms: round(r.rttMs) }, signer: '', rttMs: r.rttMs,
      }));
      streams.out(jsonDocument(items, result.stats));
      return exitCodeFor(result.stats);
    }
    for (const reply of result.replies) streams.out(`${reply.sender.padEnd(40)} time=${reply.rttMs.toFixed(2)} ms\n`);
    const times = result.replies.map((r) => r.rttMs);
    streams.out('\n\n---- ping statistics ----\n');
    if (times.length === 0) {
      streams.out('No responses received\n');
    } else {
      const avg = times.reduce((a, b) => a + b, 0) / times.length;
      streams.out(`${times.length} replies max: ${Math.max(...times).toFixed(2)} min: ${Math.min(...times).toFixed(2)} avg: ${avg.toFixed(2)}\n`);
    }
    return exitCodeFor(result.stats);
  });
}

/** `tsco discover`: the identities matching the filters, one per line. */
export async function discoverCommand(options: CommonOptions, globals: GlobalOptions, streams: Streams): Promise<number> {
  const call = callOptionsFromOptions(options);
  return withClient(globals, streams, options, async ({ client }, config) => {
    const discoverer = discovererFor(options, config);
    const started = Date.now();
    const nodes = await client.discover({ ...call, ...(discoverer ? { discoverer } : {}) });
    const discoveryMs = Date.now() - started;
    if (options.json) {
      streams.out(`${JSON.stringify({ nodes, stats: { discovered: nodes.length, discoveryMs } }, null, 2)}\n`);
    } else {
      for (const node of nodes) streams.out(`${node}\n`);
      if (options.verbose) streams.err(`\nDiscovered ${nodes.length} node(s) in ${discoveryMs} ms\n`);
    }
    return nodes.length > 0 ? ExitCode.OK : ExitCode.NothingDiscovered;
  });
}

/** `tsco rpc AGENT ACTION [key=value ...]`: per-node results and the summary. */
export async function rpcCommand(agent: string, action: string, inputs: string[], options: CommonOptions, globals: GlobalOptions, streams: Streams): Promise<number> {
  const call = callOptionsFromOptions(options);
  return withClient(globals, streams, options, async ({ client, settings, logger }, config) => {
    const discoverer = discovererFor(options, config);
    const local = await findLocalAgent(agent, settings.libdirs, logger);
    const { data } = convertInputs(inputs, local, action);
    return runCall(client, agent, action, data, { ...call, ...(discoverer ? { discoverer } : {}) }, options, streams);
  });
}

/** `tsco inventory NODE`: rpcutil's inventory and daemon_stats of one node. */
export async function inventoryCommand(node: string, options: CommonOptions, globals: GlobalOptions, streams: Streams): Promise<number> {
  refuseDiscoveryOptions(options, 'inventory addresses the one node it is given');
  const call: RpcCallOptions = { ...callOptionsFromOptions(options), nodes: [node] };
  call.filter = { ...call.filter, identity: [node] };
  return withClient(globals, streams, options, async ({ client }) => {
    const inventory = await client.call('rpcutil', 'inventory', {}, call);
    const stats = await client.call('rpcutil', 'daemon_stats', {}, call);
    const combined = [...inventory.items, ...stats.items];
    const mergedStats: RpcStats = { ...inventory.stats, agentMs: inventory.stats.agentMs + stats.stats.agentMs, totalMs: inventory.stats.totalMs + stats.stats.totalMs };
    if (options.json) {
      streams.out(jsonDocument(combined, mergedStats));
      return exitCodeFor(mergedStats);
    }
    const inv = inventory.items[0];
    if (!inv) {
      streams.err(`No response from ${node} within ${(call.timeoutMs ?? 10_000) / 1000} s\n`);
      return exitCodeFor(inventory.stats);
    }
    if (inv.statuscode !== 0) {
      streams.out(formatReply(inv));
      return exitCodeFor(inventory.stats);
    }
    streams.out(`Inventory for ${node}:\n\n`);
    const daemon = stats.items[0];
    if (daemon && daemon.statuscode === 0) {
      streams.out('   Server Statistics:\n');
      for (const [key, value] of Object.entries(daemon.data)) streams.out(`      ${key.padEnd(22)} ${formatValue(value, 29)}\n`);
      streams.out('\n');
    }
    const data = inv.data;
    section(streams, 'Agents', asList(data['agents']));
    section(streams, 'Configuration Management Classes', asList(data['classes']));
    section(streams, 'Collectives', asList(data['collectives']));
    streams.out(`   Main Collective: ${String(data['main_collective'] ?? '')}\n   Version: ${String(data['version'] ?? '')}\n\n   Facts:\n`);
    const facts = (typeof data['facts'] === 'object' && data['facts'] !== null ? data['facts'] : {}) as Record<string, unknown>;
    for (const key of Object.keys(facts).sort()) streams.out(`      ${key} => ${formatValue(facts[key], 10)}\n`);
    return exitCodeFor(inventory.stats);
  });
}

/** Refuses discovery options a command would otherwise silently ignore. */
function refuseDiscoveryOptions(options: CommonOptions, why: string): void {
  if (options.nodes !== undefined) throw new InvalidArgumentError(`--nodes: not used here (${why})`);
  if (options.dm !== undefined) throw new InvalidArgumentError(`--dm: not used here (${why})`);
}

async function runCall(
  client: ClientSession['client'], agent: string, action: string, data: Record<string, unknown>,
  call: RpcCallOptions, options: CommonOptions, streams: Streams,
): Promise<number> {
  const meter = progress(streams);
  const result = await client.call(agent, action, data, {
    ...call,
    onReply: (reply, p) => {
      meter.done();
      if (!options.json) streams.out(formatReply(reply));
      meter.update(p.received, p.expected);
    },
  });
  meter.done();
  if (options.json) streams.out(jsonDocument(result.items, result.stats));
  else streams.out(formatSummary(result.stats, Boolean(options.verbose)));
  return exitCodeFor(result.stats);
}

function section(streams: Streams, title: string, items: string[]): void {
  streams.out(`   ${title}:\n`);
  if (items.length === 0) streams.out('      (none)\n');
  for (let i = 0; i < items.length; i += 4) streams.out(`      ${items.slice(i, i + 4).map((s) => s.padEnd(20)).join('').trimEnd()}\n`);
  streams.out('\n');
}

function asList(value: unknown): string[] {
  return Array.isArray(value) ? value.map(String).sort() : [];
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}

/** Registers the RPC commands on the program; `run` receives each command's exit-code promise. */
export function registerRpcCommands(program: Command, streams: Streams, run: (work: Promise<number>) => void): void {
  const globals = () => program.opts<GlobalOptions>();
  addCallOptions(addFilterOptions(program.command('ping').description('ping every node matching the filters and report round-trip times')), { batching: false })
    .action((options: CommonOptions) => run(pingCommand(options, globals(), streams)));
  addCallOptions(addFilterOptions(program.command('discover').alias('find').description('list the nodes matching the filters')), { batching: false })
    .action((options: CommonOptions) => run(discoverCommand(options, globals(), streams)));
  addCallOptions(addFilterOptions(program.command('rpc')
    .description('call AGENT ACTION on the nodes matching the filters')
    .argument('<agent>', 'the agent to call')
    .argument('<action>', 'the action to run')
    .argument('[inputs...]', 'action inputs as key=value (typed from the agent\'s declaration when installed locally)')))
    .action((agent: string, action: string, inputs: string[], options: CommonOptions) => run(rpcCommand(agent, action, inputs, options, globals(), streams)));
  addCallOptions(addFilterOptions(program.command('inventory').description('show the agents, facts, classes and statistics of one node').argument('<node>', 'the node identity')), { batching: false })
    .action((node: string, options: CommonOptions) => run(inventoryCommand(node, options, globals(), streams)));
}
