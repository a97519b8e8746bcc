/**
 * `tsco plugin doc [AGENT[/ACTION]]`, as `mco plugin doc`: without an argument, the agents tsco knows a
 * description of (installed locally or cached); with one, the agent's (or one action's) documentation: metadata,
 * timeout, and per action its display policy, inputs, outputs and aggregate summaries. A description neither
 * installed nor cached (or any, with --refresh) is fetched from a node hosting the agent (`rpcutil#agent_ddl`).
 */
import type { Command } from 'commander';
import { inputRequired, type ActionDdl, type AgentDdl, type InputDdl } from '../../agent/ddl.js';
import { connectClient, readClientSettings, type FoundDescription } from '../../client/index.js';
import { InvalidArgumentError } from '../../errors.js';
import { checkName } from '../../names.js';
import { createLogger } from '../../util/log.js';
import { loadClientConfig, type GlobalOptions } from './context.js';
import { descriptionsFor } from './descriptions.js';
import { addCallOptions, addFilterOptions, callOptionsFromOptions, type CommonOptions } from './options.js';
import type { Streams } from './output.js';

/** The options of `plugin doc`. */
export type DocOptions = CommonOptions & { refresh?: boolean };

function heading(text: string, underline: string, indent = ''): string[] {
  return [`${indent}${text}`, `${indent}${underline.repeat(text.length)}`];
}

const DETAIL = '            ';

function field(label: string, value: unknown, width = 12, indent = DETAIL): string {
  return `${indent}${label.padStart(width)}: ${typeof value === 'string' ? value : JSON.stringify(value)}`;
}

/** The list of known agents: name, version, where the description is, and what the agent does. */
export function formatAgentList(found: readonly FoundDescription[]): string {
  if (found.length === 0) return 'No agent descriptions known: install agents in a libdir, or name an agent to fetch its description.\n';
  const width = Math.max(...found.map(({ ddl }) => ddl.metadata.name.length));
  const version = Math.max(...found.map(({ ddl }) => ddl.metadata.version.length));
  const lines = ['Agents:', ''];
  for (const { ddl, source } of found) {
    lines.push(`  ${ddl.metadata.name.padEnd(width)}  ${ddl.metadata.version.padEnd(version)}  ${source.padEnd(7)}  ${ddl.metadata.description}`);
  }
  return `${lines.join('\n')}\n`;
}

function inputLines(name: string, input: InputDdl): string[] {
  const rows: Array<[string, unknown]> = [];
  if (input.description !== undefined) rows.push(['Description', input.description]);
  if (input.prompt !== undefined) rows.push(['Prompt', input.prompt]);
  rows.push(['Type', input.type], ['Optional', inputRequired(input) ? 'false' : 'true']);
  if (input.pattern !== undefined) rows.push(['Pattern', input.pattern]);
  if (input.maxLength !== undefined) rows.push(['Max Length', String(input.maxLength)]);
  if (input.minimum !== undefined) rows.push(['Minimum', String(input.minimum)]);
  if (input.maximum !== undefined) rows.push(['Maximum', String(input.maximum)]);
  if (input.enum !== undefined) rows.push(['Valid Values', input.enum.map((v) => JSON.stringify(v)).join(', ')]);
  if (input.default !== undefined) rows.push(['Default', input.default]);
  return [`           ${name}:`, ...rows.map(([label, value]) => field(label, value)), ''];
}

/** One action's documentation. */
export function formatAction(name: string, action: ActionDdl): string {
  const lines = [...heading(`${name} action:`, '-', '   '), `       ${action.description}`, '', `       Display: ${action.display ?? 'always'}`, '', '       INPUT:'];
  const inputs = Object.entries(action.input ?? {});
  if (inputs.length === 0) lines.push('           This action does not have any inputs', '');
  for (const [input, spec] of inputs) lines.push(...inputLines(input, spec));
  lines.push('       OUTPUT:');
  const outputs = Object.entries(action.output ?? {});
  if (outputs.length === 0) lines.push('           This action does not declare its outputs', '');
  for (const [output, spec] of outputs) {
    lines.push(`           ${output}:`);
    lines.push(field('Description', spec.description), field('Display As', spec.display_as ?? output), field('Type', spec.type ?? 'any'));
    if (spec.default !== undefined) lines.push(field('Default', spec.default));
    lines.push('');
  }
  if (action.aggregate?.length) {
    lines.push('       SUMMARIES:');
    for (const aggregate of action.aggregate) lines.push(`           ${aggregate.function}(${aggregate.output})`);
    lines.push('');
  }
  return `${lines.join('\n')}\n`;
}

/** An agent's documentation: metadata, then each action (or only `only`). */
export function formatAgentDoc(ddl: AgentDdl, source: string, only?: string): string {
  const { metadata } = ddl;
  const lines = [...heading(metadata.name, '='), '', metadata.description, ''];
  const rows: Array<[string, string | undefined]> = [
    ['Author', metadata.author], ['Version', metadata.version], ['License', metadata.license],
    ['Timeout', `${metadata.timeout} seconds`], ['Home Page', metadata.url], ['Source', source],
  ];
  for (const [label, value] of rows) if (value !== undefined) lines.push(field(label, value, 12, ''));
  const actions = Object.keys(ddl.actions).sort();
  lines.push('', ...heading('ACTIONS:', '='), `   ${actions.join(', ') || '(none)'}`, '');
  let text = `${lines.join('\n')}\n`;
  for (const action of only ? [only] : actions) text += formatAction(action, ddl.actions[action]!);
  return text;
}

/** Splits `AGENT[/ACTION]`; throws InvalidArgumentError on a bad name. */
export function parseDocTarget(target: string): { agent: string; action?: string } {
  const [agent, action, ...rest] = target.split('/');
  if (rest.length > 0) throw new InvalidArgumentError(`${JSON.stringify(target)}: expected AGENT or AGENT/ACTION`);
  checkName('agent', 'agent', agent);
  if (action !== undefined) checkName('action', 'action', action);
  return { agent: agent!, ...(action !== undefined ? { action } : {}) };
}

/** `tsco plugin doc [AGENT[/ACTION]]`. */
export async function pluginDocCommand(target: string | undefined, options: DocOptions, globals: GlobalOptions, streams: Streams): Promise<number> {
  const wanted = target === undefined ? undefined : parseDocTarget(target);
  const call = callOptionsFromOptions(options);
  const config = await loadClientConfig(globals, streams);
  const { settings } = readClientSettings(config);
  const logger = createLogger({ level: settings.loglevel, file: settings.logfile, rotation: settings.logRotation, name: 'tsco' });
  const descriptions = descriptionsFor(settings, logger, streams);
  if (!wanted) {
    const found = await descriptions.list();
    streams.out(options.json ? `${JSON.stringify(found.map(({ ddl, source }) => ({ source, metadata: ddl.metadata, actions: Object.keys(ddl.actions).sort() })), null, 2)}\n` : formatAgentList(found));
    return 0;
  }
  let found: FoundDescription | { problem: string } | undefined = options.refresh ? undefined : await descriptions.find(wanted.agent);
  if (!found) {
    const session = await connectClient(config);
    try {
      found = await descriptions.fetch(session.client, wanted.agent, call);
    } finally {
      await session.close();
    }
  }
  if ('problem' in found) {
    streams.err(`tsco: no description of agent ${wanted.agent}: ${found.problem}\n`);
    return 1;
  }
  const { ddl } = found;
  if (wanted.action !== undefined && !Object.hasOwn(ddl.actions, wanted.action)) {
    throw new InvalidArgumentError(`action: agent ${wanted.agent} has no action ${JSON.stringify(wanted.action)} (actions: ${Object.keys(ddl.actions).sort().join(', ') || 'none'})`);
  }
  const source = found.source === 'network' ? `network (${found.from}), now cached` : found.source;
  if (options.json) streams.out(`${JSON.stringify(wanted.action ? { metadata: ddl.metadata, actions: { [wanted.action]: ddl.actions[wanted.action] } } : ddl, null, 2)}\n`);
  else streams.out(formatAgentDoc(ddl, source, wanted.action));
  return 0;
}

/** Registers `plugin doc` on the program. */
export function registerPluginCommands(program: Command, streams: Streams, run: (work: Promise<number>) => void): void {
  const plugin = program.command('plugin').description('information about agents: plugin doc [AGENT[/ACTION]]');
  addCallOptions(addFilterOptions(plugin.command('doc')
    .description('list the agents with a known description, or document an agent or one of its actions (fetched from a node when needed)')
    .argument('[target]', 'AGENT or AGENT/ACTION')
    .option('--refresh', 'fetch the description from a node hosting the agent even when it is installed or cached')), { batching: false })
    .action((target: string | undefined, options: DocOptions) => run(pluginDocCommand(target, options, program.opts<GlobalOptions>(), streams)));
}
