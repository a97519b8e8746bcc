/**
 * The options tsco's RPC commands share, as in MCollective's `mco`: filters (-I -F -C -A -S -W -T), timing
 * (-t, --dt, --ttl), discovery source (--nodes), batching and node limits, and output (--json, -v).
 */
import { Option, type Command } from 'commander';
import { InvalidArgumentError } from '../../errors.js';
import type { RequestFilter } from '../../inter/message.js';
import { parseNodeLimit, type NodeLimit, type RpcCallOptions } from '../../client/index.js';
import { parseFactFilter } from '../../filter/fact.js';
import { parseCompound } from '../../filter/compound.js';
import { compilePattern, isRegexLiteral } from '../../filter/regex.js';

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
  json?: boolean;
  verbose?: boolean;
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
    .option('-W, --with <filter>', 'combined: fact=value or a class name (repeatable)', collect, [])
    .option('-T, --target <collective>', 'the collective to address');
}

/** Adds timing, discovery, batching and output options to a command. */
export function addCallOptions(command: Command, { batching = true }: { batching?: boolean } = {}): Command {
  command
    .option('-t, --timeout <seconds>', 'seconds to wait for replies', positiveNumber('--timeout', false))
    .option('--dt <seconds>', 'seconds a broadcast discovery listens', positiveNumber('--dt', false))
    .option('--ttl <seconds>', 'seconds the request stays valid', positiveNumber('--ttl', true))
    .option('--nodes <file>', 'discover from a file of node identities (one per line) instead of the network')
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
      }));
  }
  return command;
}

/** The request filter the options describe; throws FilterSyntaxError/InvalidArgumentError on a bad entry. */
export function filterFromOptions(options: CommonOptions): Partial<RequestFilter> {
  const filter: RequestFilter = { fact: [], cf_class: [], agent: [], identity: [], compound: [] };
  for (const entry of options.identity) filter.identity.push(checkName('-I', entry));
  for (const entry of options.class) filter.cf_class.push(checkName('-C', entry));
  for (const entry of options.agent) filter.agent.push(checkName('-A', entry));
  for (const entry of options.fact) filter.fact.push(parseFactFilter(entry));
  for (const entry of options.select) {
    parseCompound(entry);
    filter.compound.push(entry);
  }
  // -W: a fact comparison when it has an operator, a class otherwise (MCollective's rule).
  for (const entry of options.with) {
    if (/[=<>]/.test(entry)) filter.fact.push(parseFactFilter(entry));
    else filter.cf_class.push(checkName('-W', entry));
  }
  return filter;
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
  return call;
}

function checkName(flag: string, entry: string): string {
  if (isRegexLiteral(entry)) {
    compilePattern(entry, flag);
    return entry;
  }
  if (!/^[\w.:-]+$/.test(entry)) throw new InvalidArgumentError(`${flag}: ${JSON.stringify(entry)} is neither a name nor a /regex/`);
  return entry;
}
