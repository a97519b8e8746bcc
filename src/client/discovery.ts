/**
 * Discovery sources besides the broadcast ping (which lives on RpcClient): a node list (`--nodes FILE`: one name
 * per line, or the JSON `tsco discover --json` prints) and any list of names. Registration discovery
 * (`--dm registration`) is in registration-discovery.ts.
 */
import { open } from 'node:fs/promises';
import { RpcError } from '../errors.js';
import type { RequestFilter } from '../inter/message.js';
import { nameMatcher } from '../filter/regex.js';
import type { Discoverer, DiscoveryRequest } from './client.js';
import { nameProblem } from '../names.js';

/** The largest node list read (a million 16-character names fit): a bigger one is refused before it is parsed. */
export const NODE_LIST_MAX_BYTES = 32 * 1024 * 1024;

/**
 * Parses a node list: the JSON document `tsco discover --json` prints (`{"nodes": [...]}`) or a JSON array of
 * names, else one identity per line (blank lines and `#` comments ignored). Throws RpcError listing every invalid
 * name (with its line, or its index in the JSON list), or naming what is wrong with the JSON.
 */
export function parseNodeList(text: string, source: string): string[] {
  if (Buffer.byteLength(text) > NODE_LIST_MAX_BYTES) throw new RpcError(`${source}: the node list is larger than ${NODE_LIST_MAX_BYTES} bytes`);
  const start = text.trimStart()[0];
  if (start === '{' || start === '[') return parseJsonNodeList(text, source);
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

function parseJsonNodeList(text: string, source: string): string[] {
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (error) {
    throw new RpcError(`${source}: the node list looks like JSON but does not parse (${(error as Error).message})`, { cause: error });
  }
  const list = Array.isArray(document) ? document : typeof document === 'object' && document !== null ? (document as { nodes?: unknown }).nodes : undefined;
  if (!Array.isArray(list)) throw new RpcError(`${source}: a JSON node list is an array of identities or an object with a "nodes" array (as tsco discover --json prints)`);
  const problems: string[] = [];
  list.forEach((node, index) => {
    const problem = typeof node === 'string' ? nameProblem('identity', `${source}: nodes[${index}]`, node) : `${source}: nodes[${index}]: expected a string, got ${typeof node}`;
    if (problem) problems.push(problem);
  });
  if (problems.length > 0) throw new RpcError(`node list has ${problems.length} invalid entr${problems.length === 1 ? 'y' : 'ies'}:\n  - ${problems.slice(0, 20).join('\n  - ')}${problems.length > 20 ? `\n  - ... ${problems.length - 20} more` : ''}`);
  return [...new Set(list as string[])];
}

/** Reads a node list file of at most NODE_LIST_MAX_BYTES (a bigger one is refused without reading it). */
async function readNodeListFile(path: string): Promise<string> {
  let handle;
  try {
    handle = await open(path, 'r');
    const { size } = await handle.stat();
    if (size > NODE_LIST_MAX_BYTES) throw new RpcError(`--nodes ${path}: the node list is ${size} bytes, more than the ${NODE_LIST_MAX_BYTES} allowed`);
    return await handle.readFile('utf8');
  } catch (error) {
    if (error instanceof RpcError) throw error;
    throw new RpcError(`--nodes ${path}: cannot read the node list (${(error as Error).message})`, { cause: error });
  } finally {
    await handle?.close();
  }
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

/**
 * Discovery from a node list (`--nodes FILE`, see parseNodeList); supports identity filters only. `read` replaces
 * reading `path` (tsco reads standard input for `--nodes -`); it must bound what it reads to NODE_LIST_MAX_BYTES.
 */
export class FlatFileDiscoverer implements Discoverer {
  readonly name = 'flatfile';
  readonly identityOnly = true;
  constructor(private readonly path: string, private readonly read: () => Promise<string> = () => readNodeListFile(path)) {}

  async discover(request: DiscoveryRequest): Promise<string[]> {
    return filterByIdentity(parseNodeList(await this.read(), this.path), request.filter, 'flat file');
  }
}

/** Discovery from any source that lists known node identities (for example the registration store). */
export class ListDiscoverer implements Discoverer {
  readonly identityOnly = true;
  constructor(
    readonly name: string,
    private readonly list: () => readonly string[] | Promise<readonly string[]>,
  ) {}

  async discover(request: DiscoveryRequest): Promise<string[]> {
    return filterByIdentity(await this.list(), request.filter, this.name);
  }
}
