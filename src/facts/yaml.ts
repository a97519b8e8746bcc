/**
 * Facts from a YAML file (`factsource = yaml`, `plugin.yaml = <path>`, several paths separated
 * by `:` merge in order, later files winning) and classes from `classesfile`.
 *
 * Nested facts are flattened with dots (`{os: {family: debian}}` becomes `os.family = debian`)
 * and list items get their index (`ips.0`); every value becomes a string, because filters
 * compare strings (numerically when both sides are numbers). The top-level map of the file is
 * also what `get_facts` returns, flattened the same way.
 *
 * Fact maps have no prototype: filters, policies and rpcutil look facts up by names that arrive from the
 * network, and `constructor` or `toString` must find a node's own fact or nothing, never Object.prototype's
 * members. A top-level fact named `__proto__` is refused: no serializer carries such a key.
 */
import { readFileSync, statSync } from 'node:fs';
import { FactsError } from '../errors.js';
import { jsYaml } from '../util/lazy-require.js';

/** An empty fact map without a prototype: only its own entries are facts. */
export function emptyFacts(): Record<string, string> {
  return Object.create(null) as Record<string, string>;
}

/** Flattens a nested fact tree into dotted names with string values, in a map without a prototype. */
export function flattenFacts(tree: unknown, prefix = '', into: Record<string, string> = emptyFacts()): Record<string, string> {
  if (Array.isArray(tree)) {
    tree.forEach((item, index) => flattenFacts(item, prefix ? `${prefix}.${index}` : String(index), into));
  } else if (typeof tree === 'object' && tree !== null && !(tree instanceof Date) && !(tree instanceof Uint8Array)) {
    for (const [key, value] of Object.entries(tree)) flattenFacts(value, prefix ? `${prefix}.${key}` : key, into);
  } else if (prefix !== '') {
    into[prefix] = tree instanceof Date ? tree.toISOString() : tree === null || tree === undefined ? '' : String(tree);
  }
  return into;
}

/** Parses YAML fact text (safe core schema, bounded aliases) and flattens it. Throws FactsError. */
export function parseYamlFacts(text: string, source: string): Record<string, string> {
  let tree: unknown;
  try {
    tree = text.trim() === '' ? {} : jsYaml().load(text, { schema: jsYaml().CORE_SCHEMA, filename: source, maxAliases: 100 });
  } catch (error) {
    throw new FactsError(`facts file ${source}: ${(error as Error).message}`, { cause: error });
  }
  if (tree === null || tree === undefined) return emptyFacts();
  if (typeof tree !== 'object' || Array.isArray(tree)) throw new FactsError(`facts file ${source}: expected a map of facts at the top level`);
  if (Object.hasOwn(tree, '__proto__')) throw new FactsError(`facts file ${source}: a fact named "__proto__" is refused (no serializer carries it)`);
  return flattenFacts(tree);
}

/** Parses a classes file: one class per line, blank lines and `#` comments ignored. */
export function parseClasses(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
}

interface CachedFile<T> {
  mtimeMs: number;
  size: number;
  value: T;
}

/**
 * A file-backed value that is re-read only when the file changes (mtime or size), or when
 * `invalidate()` is called (SIGHUP). A file that disappears or stops parsing keeps the last
 * good value and reports the problem through `onError`, so one bad edit does not blank a
 * node's facts.
 */
export class WatchedFile<T> {
  private cached: CachedFile<T> | undefined;
  // Only a change of problem is reported: a missing file must not log on every request.
  private lastProblem: string | undefined;

  constructor(
    readonly path: string,
    private readonly parse: (text: string, path: string) => T,
    private readonly empty: T,
    private readonly onError: (error: Error) => void,
  ) {}

  /** The current value, re-reading the file if it changed. */
  get(): T {
    try {
      const stat = statSync(this.path);
      if (this.cached && this.cached.mtimeMs === stat.mtimeMs && this.cached.size === stat.size) return this.cached.value;
      const value = this.parse(readFileSync(this.path, 'utf8'), this.path);
      this.cached = { mtimeMs: stat.mtimeMs, size: stat.size, value };
      this.lastProblem = undefined;
      return value;
    } catch (error) {
      const problem = error instanceof FactsError ? error : new FactsError(`cannot read ${this.path}: ${(error as Error).message}`, { cause: error });
      if (problem.message !== this.lastProblem) this.onError(problem);
      this.lastProblem = problem.message;
      return this.cached?.value ?? this.empty;
    }
  }

  /** Makes the next get() re-read the file (the last good value stays as the fallback). */
  invalidate(): void {
    if (this.cached) this.cached = { ...this.cached, mtimeMs: Number.NaN };
    this.lastProblem = undefined;
  }
}

/** Merges several flattened fact maps, later ones winning, into a map without a prototype. */
export function mergeFacts(maps: readonly Readonly<Record<string, string>>[]): Record<string, string> {
  return Object.assign(emptyFacts(), ...maps) as Record<string, string>;
}
