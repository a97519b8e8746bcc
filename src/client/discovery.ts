/**
 * Discovery sources besides the broadcast ping (which lives on RpcClient): a flat file of node names
 * (`--nodes FILE`), any list of names, and the registration store (which knows facts, classes and agents,
 * so every filter kind works offline).
 */
import { readFile } from 'node:fs/promises';
import { RpcError } from '../errors.js';
import type { RequestFilter } from '../inter/message.js';
import { nameMatcher } from '../filter/regex.js';
import { compileFilter } from '../filter/match.js';
import type { RegistrationStore } from '../registration/store.js';
import type { Discoverer, DiscoveryRequest } from './client.js';
import { nameProblem } from '../names.js';

/**
 * Parses a flat file of node identities: one per line, blank lines and `#` comments ignored.
 * Throws RpcError naming the file and line of the first invalid name (all of them, listed).
 */
export function parseNodeList(text: string, source: string): string[] {
  const nodes: string[] = [];
  const problems: string[] = [];
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.replace(/#.*$/, '').trim();
    if (line === '') return;
    const problem = nameProblem('identity', `${source}:${index + 1}`, line);
    if (problem) problems.push(problem);
    else nodes.push(line);
  });
  if (problems.length > 0) throw new RpcError(`node list has ${problems.length} invalid line(s):\n  - ${problems.join('\n  - ')}`);
  return [...new Set(nodes)];
}

/**
 * Keeps the nodes an identity-only filter selects. Other filter kinds cannot be evaluated without asking the
 * nodes, so they are refused (as MCollective's flatfile discovery does) rather than silently ignored.
 */
export function filterByIdentity(nodes: readonly string[], filter: RequestFilter, source: string): string[] {
  const unsupported = (['fact', 'cf_class', 'agent', 'compound'] as const).filter((key) => filter[key].length > 0);
  if (unsupported.length > 0) {
    throw new RpcError(`${source} discovery supports identity filters only; remove the ${unsupported.join(', ')} filter(s) or use broadcast discovery`);
  }
  if (filter.identity.length === 0) return [...nodes];
  const matchers = filter.identity.map((entry) => nameMatcher(entry, 'identity filter'));
  // MCollective ANDs the lists but ORs the entries of the identity list (-I a -I b selects both).
  return nodes.filter((node) => matchers.some((matches) => matches(node)));
}

/** Discovery from a flat file of node names (`--nodes FILE`); supports identity filters only. */
export class FlatFileDiscoverer implements Discoverer {
  readonly name = 'flatfile';
  constructor(private readonly path: string) {}

  async discover(request: DiscoveryRequest): Promise<string[]> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (error) {
      throw new RpcError(`--nodes ${this.path}: cannot read the node list (${(error as Error).message})`, { cause: error });
    }
    return filterByIdentity(parseNodeList(text, this.path), request.filter, 'flat file');
  }
}

/** Discovery from any source that lists known node identities (for example the registration store). */
export class ListDiscoverer implements Discoverer {
  constructor(
    readonly name: string,
    private readonly list: () => readonly string[] | Promise<readonly string[]>,
  ) {}

  async discover(request: DiscoveryRequest): Promise<string[]> {
    return filterByIdentity(await this.list(), request.filter, this.name);
  }
}

/** Options of RegistrationDiscoverer. */
export interface RegistrationDiscoveryOptions {
  /** The nodes' registration interval in seconds (`registerinterval`). */
  interval: number;
  /** Nodes silent for more than this many intervals are stale and left out; 3 by default. */
  intervals?: number;
}

/**
 * Discovery from the registration store: the active (not stale) nodes whose registered identity, facts,
 * classes and agents match the filter. Registration data is only as fresh as the last registration.
 */
export class RegistrationDiscoverer implements Discoverer {
  readonly name = 'registration';
  constructor(private readonly store: RegistrationStore, private readonly options: RegistrationDiscoveryOptions) {}

  async discover(request: DiscoveryRequest): Promise<string[]> {
    const records = this.store.active({ interval: this.options.interval, intervals: this.options.intervals ?? 3 });
    // Identity entries are ORed (as MCollective's -I a -I b); every other list is evaluated as the daemon does.
    const identities = request.filter.identity.map((entry) => nameMatcher(entry, 'identity filter'));
    const rest = compileFilter({ ...request.filter, identity: [] });
    return records
      .filter((record) => identities.length === 0 || identities.some((matches) => matches(record.identity)))
      .filter((record) => rest({ identity: record.identity, facts: record.facts, classes: record.classes, agents: record.agents }))
      .map((record) => record.identity);
  }
}
