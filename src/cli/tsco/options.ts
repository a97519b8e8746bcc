/**
 * The options tsco's RPC commands share, as in MCollective's `mco`: filters (-I -F -C -A -S -W -T), timing
 * (-t, --dt, --ttl), discovery source (--nodes), batching and node limits (-1), and output (--json, -v, --np,
 * --sort, --table, -o).
 */
import { Option, type Command } from 'commander';
import { InvalidArgumentError } from '../../errors.js';
import type { RequestFilter } from '../../inter/message.js';
import { parseNodeLimit, type NodeLimit, type RpcCallOptions } from '../../client/index.js';
import { parseFactFilter } from '../../filter/fact.js';
import { compileCompound } from '../../filter/compound.js';
import { compilePattern, isRegexLiteral } from '../../filter/regex.js';
import { NAME_RULES, isName, type NameKind } from '../../names.js';

/** The parsed shared options as commander hands them over. */
export interface CommonOptions {
  identity: string[];
  fact: string[];
  class: string[];
  agent: string[];
  select: string[];
  with: string[];
  target?: string;
  timeout?: number;
  dt?: number;
  ttl?: number;
  nodes?: string;
  dm?: string;
  batch?: number;
  batchSleep?: number;
  limitNodes?: string;
  /** `-1/--one`: one node, chosen at random. */
  one?: boolean;
  json?: boolean;
  verbose?: boolean;
  /** false with `--np/--no-progress`. */
  progress?: boolean;
  /** `--sort`: replies printed sorted by sender, once all are in. */
  sort?: boolean;
  /** `--table`: replies printed as one table, once all are in. */
  table?: boolean;
  /** `-o/--output-file FILE`: also write the --json document to FILE. */
  outputFile?: string;
}

const collect = (value: string, previous: string[]) => [...previous, value];

function positiveNumber(flag: string, integer: boolean) {
  return (text: string): number => {
    const value = Number(text);
    if (text.trim() === '' || !Number.isFinite(value) || value <= 0 || (integer && !Number.isInteger(value))) {
      throw new InvalidArgumentError(`${flag}: expected ${integer ? 'a whole number' : 'a number'} > 0, got ${JSON.stringify(text)}`);
    }
    return value;
  };
}

function nonNegativeNumber(flag: string) {
  return (text: string): number => {
    const value = Number(text);
    if (text.trim() === '' || !Number.isFinite(value) || value < 0) throw new InvalidArgumentError(`${flag}: expected a number >= 0, got ${JSON.stringify(text)}`);
    return value;
  };
}

/** Adds the filter options (-I -F -C -A -S -W -T) to a command. */
export function addFilterOptions(command: Command): Command {
  return command
    .option('-I, --identity <name>', 'match a node identity, or /regex/ (repeatable; nodes matching any)', collect, [])
    .option('-F, --fact <fact=value>', 'match a fact: fact=value, fact=~/re/, fact!=v, fact<n, fact>=n ... (repeatable)', collect, [])
    .option('-C, --class <class>', 'match a configuration class, or /regex/ (repeatable)', collect, [])
    .option('-A, --agent <agent>', 'match nodes hosting an agent, or /regex/ (repeatable)', collect, [])
    .option('-S, --select <expression>', 'compound filter, e.g. "country=uk and not /web/"', collect, [])
    .option('-W, --with <filters>', 'combined, space-separated: fact<op>value entries are fact filters, the others classes (repeatable)', collect, [])
    .option('-T, --target <collective>', 'the collective to address');
}

/** Adds timing, discovery, batching and output options to a command. */
export function addCallOptions(command: Command, { batching = true }: { batching?: boolean } = {}): Command {
  command
    .option('-t, --timeout <seconds>', 'seconds to wait for replies (rpc, facts: the agent\'s declared timeout + 2 by default)', positiveNumber('--timeout', false))
    .option('--dt <seconds>', 'seconds a broadcast discovery listens', positiveNumber('--dt', false))
    .option('--ttl <seconds>', 'seconds the request stays valid', positiveNumber('--ttl', true))
    .option('--nodes <file>', 'take the nodes from FILE (one identity per line, or tsco discover --json output; - reads standard input)')
    .addOption(new Option('--dm <method>', 'discovery method (default: default_discovery_method, else mc)').choices(['mc', 'flatfile', 'registration']))
    .option('-j, --json', 'print one JSON document instead of text')
    .option('-v, --verbose', 'print statistics and ignored-reply counts');
  if (batching) {
    command
      .option('--batch <n>', 'address this many nodes at a time', positiveNumber('--batch', true))
      .option('--batch-sleep <seconds>', 'seconds to sleep between batches (default 1)', nonNegativeNumber('--batch-sleep'))
      .addOption(new Option('--limit-nodes <n|n%>', 'address only this many (or this share) of the discovered nodes').argParser((text) => {
        parseNodeLimit(text);
        return text;
      }))
      .option('-1, --one', 'address one of the discovered nodes, chosen at random');
  }
  return command;
}

/**
 * Adds the output options: `-o/--output-file` always; `--np/--no-progress` when the command draws a progress bar;
 * `--sort` and `--table` when it prints one reply per node.
 */
export function addOutputOptions(command: Command, { progress = false, replies = false }: { progress?: boolean; replies?: boolean } = {}): Command {
  command.option('-o, --output-file <file>', 'also write the --json document to FILE');
  if (progress) command.option('--np, --no-progress', 'no discovery line or progress bar on a terminal');
  if (replies) {
    command
      .option('--sort', 'print the replies sorted by sender, once all are in')
      .option('--table', 'print the replies as a table, once all are in');
  }
  return command;
}

/**
 * The request filter the options describe; throws FilterSyntaxError/InvalidArgumentError on a bad entry.
 * Every regex is compiled here, so a pattern the nodes would refuse is refused before anything is sent.
 */
export function filterFromOptions(options: CommonOptions): Partial<RequestFilter> {
  const filter: RequestFilter = { fact: [], cf_class: [], agent: [], identity: [], compound: [] };
  for (const entry of options.identity) filter.identity.push(checkName('-I', 'identity', entry));
  for (const entry of options.class) filter.cf_class.push(checkName('-C', 'className', entry));
  for (const entry of options.agent) filter.agent.push(checkName('-A', 'agent', entry));
  for (const entry of options.fact) filter.fact.push(parseFactFilter(entry));
  for (const entry of options.select) {
    compileCompound(entry);
    filter.compound.push(entry);
  }
  // -W, as MCollective's: space-separated entries; one with an operator is a fact filter, any other a class.
  for (const entry of options.with.flatMap(splitWithFilter)) {
    if (/[=<>]/.test(entry)) filter.fact.push(parseFactFilter(entry));
    else filter.cf_class.push(checkName('-W', 'className', entry));
  }
  return filter;
}

/**
 * Splits a `-W` argument into its entries at white space, except inside quotes (`motd="hello world"`)
 * and inside a `/regex/` value (`os=~/red hat/i`), as compound expressions are split.
 */
export function splitWithFilter(text: string): string[] {
  const entries: string[] = [];
  let current = '';
  let quote: string | undefined;
  let inRegex = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote) {
      if (c === quote) quote = undefined;
    } else if (inRegex) {
      if (c === '\\') {
        current += c + (text[i + 1] ?? '');
        i++;
        continue;
      }
      if (c === '/') inRegex = false;
    } else if (c === '"' || c === "'") {
      quote = c;
    } else if (c === '/' && (current === '' || current.endsWith('=') || current.endsWith('~'))) {
      inRegex = true;
    } else if (/\s/.test(c)) {
      if (current !== '') entries.push(current);
      current = '';
      continue;
    }
    current += c;
  }
  if (quote) throw new InvalidArgumentError(`-W: unterminated ${quote} in ${JSON.stringify(text)}`);
  if (inRegex) throw new InvalidArgumentError(`-W: unterminated /regex/ in ${JSON.stringify(text)}`);
  if (current !== '') entries.push(current);
  if (entries.length === 0) throw new InvalidArgumentError('-W: expected fact<op>value or class entries, got nothing');
  return entries;
}

/** The client call options the shared options describe. */
export function callOptionsFromOptions(options: CommonOptions): RpcCallOptions {
  const call: RpcCallOptions = { filter: filterFromOptions(options) };
  if (options.target !== undefined) call.collective = options.target;
  if (options.timeout !== undefined) call.timeoutMs = options.timeout * 1000;
  if (options.dt !== undefined) call.discoveryTimeoutMs = options.dt * 1000;
  if (options.ttl !== undefined) call.ttl = options.ttl;
  if (options.batch !== undefined) call.batchSize = options.batch;
  if (options.batchSleep !== undefined) call.batchSleepMs = options.batchSleep * 1000;
  if (options.batchSleep !== undefined && options.batch === undefined) throw new InvalidArgumentError('--batch-sleep: only meaningful with --batch N');
  if (options.limitNodes !== undefined) call.limit = parseNodeLimit(options.limitNodes) satisfies NodeLimit;
  if (options.one) {
    if (options.limitNodes !== undefined) throw new InvalidArgumentError('-1/--one: conflicts with --limit-nodes');
    call.limit = { count: 1 };
    call.limitMethod = 'random';
  }
  return call;
}

/** A -I/-C/-A/-W entry: a /regex/ (compiled to check it) or a name of `kind` (names.ts rules). */
function checkName(flag: string, kind: NameKind, entry: string): string {
  if (isRegexLiteral(entry)) {
    compilePattern(entry, flag);
    return entry;
  }
  if (!isName(kind, entry)) {
    throw new InvalidArgumentError(`${flag}: ${JSON.stringify(entry)} is neither a name (${NAME_RULES[kind].description}) nor a /regex/`);
  }
  return entry;
}
