/**
 * The RPC commands: `ping`, `discover`, `rpc AGENT ACTION [key=value ...]` and `inventory NODE`.
 * Each returns its exit code (MCollective's: 0 ok, 1 nothing discovered, 2 failures, 3 no responses,
 * 4 no discovery and no responses).
 */
import { Option, type Command } from 'commander';
import type { ActionDdl } from '../../agent/ddl.js';
import { computeAggregates } from '../../client/ddl/aggregate.js';
import { replyTimeoutMs } from '../../client/ddl/timeout.js';
import {
  ExitCode, exitCodeFor, registrationLabel, type ClientSession, type RegistrationAwareDiscoverer, type RpcCallOptions, type RpcReply, type RpcStats,
} from '../../client/index.js';
import { InvalidArgumentError } from '../../errors.js';
import type { GlobalOptions } from './context.js';
import { describeForCall, descriptionsFor } from './descriptions.js';
import { convertInputs } from './inputs.js';
import { addCallOptions, addFilterOptions, addOutputOptions, callOptionsFromOptions, type CommonOptions } from './options.js';
import { type OutputFile, formatReply, formatSummary, formatValue, jsonDocument, outputPalette, senderLabel, type Streams } from './output.js';
import { DISPLAY_OPTIONS, effectiveDisplay, formatAggregates, formatDescribedReply, shouldDisplay } from './rpc-format.js';
import { callWithProgress, discovererFor, sortBySender, withClient, withOutputFile } from './session.js';
import { formatTable } from './table.js';

/** The options of `tsco rpc`: the shared ones and `--display`. */
export type RpcOptions = CommonOptions & { display?: string };

/** `tsco ping`: every node's round trip as it answers, then count and min/max/avg. */
export async function pingCommand(options: CommonOptions, globals: GlobalOptions, streams: Streams): Promise<number> {
  refuseDiscoveryOptions(options, 'ping always broadcasts to the discovery agent');
  const call = callOptionsFromOptions(options);
  return withOutputFile(options, (file) => withClient(globals, streams, options, async ({ client }) => {
    // Without -t, a ping listens for the discovery timeout (--dt), as long as a discovery would.
    const result = await client.ping(call);
    const items: RpcReply[] = result.replies.map((r) => ({
      agent: 'discovery', action: 'ping', sender: r.sender, statuscode: 0, statusmsg: 'OK', data: { rtt_ms: round(r.rttMs) },
      signer: r.signer, senderProof: r.senderProof, rttMs: r.rttMs,
    }));
    file?.write(jsonDocument(items, result.stats));
    if (options.json) {
      streams.out(jsonDocument(items, result.stats));
      return exitCodeFor(result.stats);
    }
    for (const reply of result.replies) streams.out(`${senderLabel(reply).padEnd(40)} time=${reply.rttMs.toFixed(2)} ms\n`);
    const times = result.replies.map((r) => r.rttMs);
    streams.out('\n\n---- ping statistics ----\n');
    if (times.length === 0) {
      streams.out('No responses received\n');
    } else {
      const avg = times.reduce((a, b) => a + b, 0) / times.length;
      streams.out(`${times.length} replies max: ${Math.max(...times).toFixed(2)} min: ${Math.min(...times).toFixed(2)} avg: ${avg.toFixed(2)}\n`);
    }
    return exitCodeFor(result.stats);
  }));
}

/** `tsco discover`: the identities matching the filters, one per line. */
export async function discoverCommand(options: CommonOptions, globals: GlobalOptions, streams: Streams): Promise<number> {
  const call = callOptionsFromOptions(options);
  return withOutputFile(options, (file) => withClient(globals, streams, options, async (session, config) => {
    const discoverer = discovererFor(options, config, streams, session);
    const started = Date.now();
    const nodes = await session.client.discover({ ...call, ...(discoverer ? { discoverer } : {}) });
    const discoveryMs = Date.now() - started;
    // Registration discovery knows how each name was proved: names only a shared key (or an unproven collector)
    // vouches for are marked.
    const registrations = (discoverer as Partial<RegistrationAwareDiscoverer> | undefined)?.registrations;
    const unauthenticated = registrations && nodes.flatMap((node) => {
      const registration = registrations.get(node);
      return registration && !registration.authenticated ? [registration] : [];
    });
    // The document --nodes accepts back (a file, or - for standard input).
    const document = `${JSON.stringify({ nodes, ...(unauthenticated ? { unauthenticated } : {}), stats: { discovered: nodes.length, discoveryMs } }, null, 2)}\n`;
    file?.write(document);
    if (options.json) {
      streams.out(document);
    } else {
      for (const node of nodes) {
        const label = registrationLabel(registrations?.get(node));
        streams.out(label ? `${node} ${label}\n` : `${node}\n`);
      }
      if (options.verbose) streams.err(`\nDiscovered ${nodes.length} node(s) in ${discoveryMs} ms\n`);
    }
    return nodes.length > 0 ? ExitCode.OK : ExitCode.NothingDiscovered;
  }));
}

/**
 * `tsco rpc AGENT ACTION [key=value ...]`: inputs converted and validated with the agent's description (local,
 * cached or fetched), per-node results as the display policy says, the aggregate summaries, and the summary.
 * Discovery looks for nodes hosting the agent; replies are awaited for the agent's declared timeout plus a
 * margin (replyTimeoutMs), unless `-t` says otherwise.
 */
export async function rpcCommand(agent: string, action: string, inputs: string[], options: RpcOptions, globals: GlobalOptions, streams: Streams): Promise<number> {
  const call = callOptionsFromOptions(options);
  if (options.table && options.json) throw new InvalidArgumentError('--table: conflicts with --json');
  return withOutputFile(options, (file) => withClient(globals, streams, options, async ({ client, settings, logger }, config) => {
    const discoverer = discovererFor(options, config, streams, { client, logger });
    const target: RpcCallOptions = { ...call, ...(discoverer ? { discoverer } : {}) };
    const ddl = await describeForCall(descriptionsFor(settings, logger, streams), client, agent, target, streams);
    const { data } = convertInputs(inputs, ddl, action);
    target.timeoutMs ??= replyTimeoutMs(ddl);
    return runCall(client, agent, action, data, target, options, streams, file, ddl?.actions[action]);
  }));
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
  call: RpcCallOptions, options: RpcOptions, streams: Streams, file: OutputFile | undefined, described?: ActionDdl,
): Promise<number> {
  const display = effectiveDisplay(options.display, described);
  const colors = outputPalette(streams);
  // --sort and --table need every reply before printing; otherwise each prints as it arrives.
  const buffered = Boolean(options.sort || options.table || options.json);
  const show = buffered ? undefined : (reply: RpcReply) => {
    if (shouldDisplay(reply, display)) streams.out(formatDescribedReply(reply, described, colors));
  };
  const result = await callWithProgress(client, agent, action, data, call, options, streams, show);
  const items = options.sort ? sortBySender(result.items) : result.items;
  const aggregates = described ? computeAggregates(described, items) : [];
  const document = () => jsonDocument(items, result.stats, aggregates.length > 0 ? { aggregates } : {});
  file?.write(document());
  if (options.json) {
    streams.out(document());
  } else {
    const shown = buffered ? items.filter((reply) => shouldDisplay(reply, display)) : [];
    if (options.table) streams.out(formatTable(shown, described, colors));
    else for (const reply of shown) streams.out(formatDescribedReply(reply, described, colors));
    streams.out(formatAggregates(aggregates));
    streams.out(formatSummary(result.stats, Boolean(options.verbose), colors));
  }
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
  addOutputOptions(addCallOptions(addFilterOptions(program.command('ping').description('ping every node matching the filters and report round-trip times')), { batching: false }))
    .action((options: CommonOptions) => run(pingCommand(options, globals(), streams)));
  addOutputOptions(addCallOptions(addFilterOptions(program.command('discover').alias('find').description('list the nodes matching the filters')), { batching: false }))
    .action((options: CommonOptions) => run(discoverCommand(options, globals(), streams)));
  addOutputOptions(addCallOptions(addFilterOptions(program.command('rpc')
    .description('call AGENT ACTION on the nodes hosting AGENT that match the filters')
    .argument('<agent>', 'the agent to call')
    .argument('<action>', 'the action to run')
    .argument('[inputs...]', 'action inputs as key=value (typed by the agent\'s description), or key:type=value'))), { progress: true, replies: true })
    .addOption(new Option('--display <which>', 'which replies to print: ok, failed or all (default: the action\'s display policy)').choices([...DISPLAY_OPTIONS]))
    .action((agent: string, action: string, inputs: string[], options: RpcOptions) => run(rpcCommand(agent, action, inputs, options, globals(), streams)));
  addCallOptions(addFilterOptions(program.command('inventory').description('show the agents, facts, classes and statistics of one node').argument('<node>', 'the node identity')), { batching: false })
    .action((node: string, options: CommonOptions) => run(inventoryCommand(node, options, globals(), streams)));
}
