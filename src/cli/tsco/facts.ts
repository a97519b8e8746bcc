/**
 * `tsco facts FACT`, as `mco facts`: asks every node matching the filters for one fact (`rpcutil#get_fact`) and
 * reports how many nodes have each value (`-v`: which nodes). Nodes without the fact count under `(unknown)`
 * (`null` in JSON); failed replies (a denial, for example) are listed after the report.
 */
import type { Command } from 'commander';
import { exitCodeFor, type RpcReply } from '../../client/index.js';
import { replyTimeoutMs } from '../../client/ddl/timeout.js';
import { StatusCode } from '../../inter/message.js';
import { checkName } from '../../names.js';
import type { GlobalOptions } from './context.js';
import { describeForCall, descriptionsFor } from './descriptions.js';
import { addCallOptions, addFilterOptions, addOutputOptions, callOptionsFromOptions, type CommonOptions } from './options.js';
import { formatReplyWith, formatSummary, jsonDocument, outputPalette, type Streams } from './output.js';
import { callWithProgress, discovererFor, sortBySender, withClient, withOutputFile } from './session.js';

/** How many nodes reported one value of the fact (null: nodes without the fact), and which. */
export interface FactValueCount {
  value: string | null;
  count: number;
  /** The nodes, sorted. */
  nodes: string[];
}

/** What text output shows for nodes that do not have the fact. */
export const UNKNOWN_FACT_LABEL = '(unknown)';

/** Counts the fact values in successful get_fact replies: sorted by value, nodes without the fact last. */
export function countFactValues(items: readonly RpcReply[]): FactValueCount[] {
  const counts = new Map<string | null, string[]>();
  for (const item of items) {
    if (item.statuscode !== StatusCode.OK) continue;
    const raw = item.data['value'];
    const value = raw === null || raw === undefined ? null : typeof raw === 'string' ? raw : JSON.stringify(raw);
    counts.set(value, [...(counts.get(value) ?? []), item.sender]);
  }
  return [...counts.entries()]
    .map(([value, nodes]) => ({ value, count: nodes.length, nodes: nodes.sort() }))
    .sort((a, b) => (a.value === null ? 1 : b.value === null ? -1 : a.value < b.value ? -1 : a.value > b.value ? 1 : 0));
}

/** The report as `mco facts` prints it; `verbose` lists the nodes under each value. */
export function formatFactReport(fact: string, values: readonly FactValueCount[], verbose: boolean): string {
  const lines = [`Report for fact: ${fact}`, ''];
  if (values.length === 0) lines.push('        No values');
  for (const entry of values) {
    lines.push(`        ${(entry.value ?? UNKNOWN_FACT_LABEL).padEnd(40)} found ${entry.count} times`);
    if (verbose) lines.push('', ...entry.nodes.map((node) => `            ${node}`), '');
  }
  // The summary that follows starts with its own blank line.
  while (lines.at(-1) === '') lines.pop();
  return `${lines.join('\n')}\n`;
}

/** `tsco facts FACT`: the values of FACT across the nodes matching the filters, with their counts. */
export async function factsCommand(fact: string, options: CommonOptions, globals: GlobalOptions, streams: Streams): Promise<number> {
  checkName('fact', 'FACT', fact);
  const call = callOptionsFromOptions(options);
  return withOutputFile(options, (file) => withClient(globals, streams, options, async ({ client, settings, logger }, config) => {
    const discoverer = discovererFor(options, config, streams, { client, logger });
    const target = { ...call, ...(discoverer ? { discoverer } : {}) };
    target.timeoutMs ??= replyTimeoutMs(await describeForCall(descriptionsFor(settings, logger, streams), client, 'rpcutil', target, streams));
    const result = await callWithProgress(client, 'rpcutil', 'get_fact', { fact }, target, options, streams);
    const items = sortBySender(result.items);
    const values = countFactValues(items);
    const document = jsonDocument(items, result.stats, { fact, values });
    file?.write(document);
    if (options.json) {
      streams.out(document);
      return exitCodeFor(result.stats);
    }
    const colors = outputPalette(streams);
    streams.out(formatFactReport(fact, values, Boolean(options.verbose)));
    const failed = items.filter((item) => item.statuscode !== StatusCode.OK);
    if (failed.length > 0) streams.out(`\nFailed on ${failed.length} node(s):\n\n${failed.map((item) => formatReplyWith(colors, item)).join('')}`);
    streams.out(formatSummary(result.stats, Boolean(options.verbose), colors));
    return exitCodeFor(result.stats);
  }));
}

/** Registers `tsco facts FACT` on the program; `run` receives the command's exit-code promise. */
export function registerFactsCommand(program: Command, streams: Streams, run: (work: Promise<number>) => void): void {
  addOutputOptions(addCallOptions(addFilterOptions(program.command('facts')
    .description('count the values of FACT across the nodes matching the filters (-v: which nodes)')
    .argument('<fact>', 'the fact to report on'))), { progress: true })
    .action((fact: string, options: CommonOptions) => run(factsCommand(fact, options, program.opts<GlobalOptions>(), streams)));
}
