/**
 * Discovery sources besides the broadcast ping (which lives on RpcClient): a flat file of node names
 * (`--nodes FILE`) and any list of names. Registration discovery (`--dm registration`) is in
 * registration-discovery.ts.
 */
import { readFile } from 'node:fs/promises';
import { RpcError } from '../errors.js';
import type { RequestFilter } from '../inter/message.js';
import { nameMatcher } from '../filter/regex.js';
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
