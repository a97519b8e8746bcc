/**
 * A planned filter as one SQL statement over the registration tables (`nodes`, `facts`, `agents`, `classes`,
 * `collectives`). Its leaves (src/registration/query/leaves.ts) are indexed selections of node ids; they are
 * combined in one of two styles, whichever the database runs faster: `predicate` (`n.id IN (...) AND (... OR
 * ...) AND NOT ...`, PostgreSQL's planner turns it into hash joins) or `set` (`... INTERSECT ... UNION ...
 * EXCEPT ...`, which SQLite runs about twice as fast as the predicate form of a compound filter).
 */
import type { RegistrationQuery } from '../../inter/registration.js';
import { LeafResolver, type AddParam, type Leaf } from './leaves.js';
import type { Condition } from './plan.js';

/** The registration tables. */
export type RegistrationTable = 'nodes' | 'facts' | 'agents' | 'classes' | 'collectives';

/** How one SQL database spells what the builder needs. */
export interface SqlDialect {
  /** How conditions are combined. */
  readonly style: 'predicate' | 'set';
  /** The placeholder of the n-th parameter (1-based): `?` or `$n`. */
  placeholder(index: number): string;
  /** A numeric (double) parameter. */
  number(placeholder: string): string;
  /** `column` is one of the values of a list parameter (ids when `ids`, else text). */
  inList(column: string, placeholder: string, ids: boolean): string;
  /** A SELECT of an `id` column holding the ids of a list parameter. */
  idSet(placeholder: string): string;
  /** The value a list parameter is bound as. */
  list(values: readonly (string | number)[]): unknown;
  /**
   * A condition on the `value` column that the (name, value) index serves: `value = <placeholder>` when not
   * `list`, else `value` is one of the list parameter's. `values` are the values themselves, for dialects whose
   * index holds short values only.
   */
  valueIs(placeholder: string, values: readonly string[], list: boolean): string;
  /** The qualified name of a table. */
  table(name: RegistrationTable): string;
}

/** The rows JS decides on, fetched through the indexes. */
export interface RowSource {
  /** The distinct values of one fact, only the non-numeric ones when `nonNumericOnly`. */
  factValues(fact: string, nonNumericOnly: boolean): Promise<readonly string[]>;
  /** The distinct names in the agents or classes table. */
  memberNames(set: 'agents' | 'classes'): Promise<readonly string[]>;
  /** Every node's id and identity. */
  identities(): Promise<ReadonlyArray<{ id: number; identity: string }>>;
}

/** A WHERE clause over `nodes n` and its parameters. */
export interface WhereClause {
  sql: string;
  params: unknown[];
}

const NEVER = '1 = 0';
const ALWAYS = '1 = 1';
/** SQLite refuses compound SELECTs of more than 500 terms: longer chains are cut into wrapped groups. */
const CHAIN_GROUP = 100;

/** A set of node ids in the making: everything, nothing, or a SELECT of an `id` column rendered in place. */
type NodeSet = 'all' | 'never' | { readonly compound: boolean; render(param: AddParam): string };

/** Resolves every leaf of the tree (the JS decisions are asynchronous) before anything is rendered. */
async function resolveLeaves(condition: Condition, resolver: LeafResolver, leaves: Map<Condition, Leaf>): Promise<void> {
  switch (condition.kind) {
    case 'and':
    case 'or':
      for (const part of condition.parts) await resolveLeaves(part, resolver, leaves);
      return;
    case 'not':
      return resolveLeaves(condition.part, resolver, leaves);
    case 'identity':
      leaves.set(condition, await resolver.identity(condition.match));
      return;
    case 'member':
      leaves.set(condition, await resolver.member(condition.set, condition.match));
      return;
    case 'fact':
      leaves.set(condition, await resolver.fact(condition));
  }
}

function predicate(condition: Condition, leaves: Map<Condition, Leaf>, param: AddParam): string {
  switch (condition.kind) {
    case 'and':
    case 'or': {
      if (condition.parts.length === 0) return condition.kind === 'and' ? ALWAYS : NEVER;
      const parts = condition.parts.map((part) => predicate(part, leaves, param));
      return parts.length === 1 ? parts[0]! : `(${parts.join(condition.kind === 'and' ? ' AND ' : ' OR ')})`;
    }
    case 'not':
      return `NOT (${predicate(condition.part, leaves, param)})`;
    default: {
      const leaf = leaves.get(condition)!;
      return leaf === 'never' ? NEVER : leaf.predicate(param);
    }
  }
}

function wrap(set: Exclude<NodeSet, 'all' | 'never'>, param: AddParam): string {
  return set.compound ? `SELECT id FROM (${set.render(param)})` : set.render(param);
}

/** `a <op> b <op> c`: compound operators bind left to right, so only later members need wrapping. */
function chain(members: ReadonlyArray<Exclude<NodeSet, 'all' | 'never'>>, operator: 'UNION' | 'INTERSECT'): NodeSet {
  if (members.length === 1) return members[0]!;
  if (members.length > CHAIN_GROUP) {
    const groups: Array<Exclude<NodeSet, 'all' | 'never'>> = [];
    for (let i = 0; i < members.length; i += CHAIN_GROUP) groups.push(chain(members.slice(i, i + CHAIN_GROUP), operator) as Exclude<NodeSet, 'all' | 'never'>);
    return chain(groups, operator);
  }
  return { compound: true, render: (param) => members.map((member, i) => (i === 0 ? member.render(param) : wrap(member, param))).join(` ${operator} `) };
}

function nodeSet(condition: Condition, leaves: Map<Condition, Leaf>, universe: string): NodeSet {
  const live = (sets: NodeSet[]): Array<Exclude<NodeSet, 'all' | 'never'>> => sets.filter((set): set is Exclude<NodeSet, 'all' | 'never'> => set !== 'all' && set !== 'never');
  switch (condition.kind) {
    case 'or': {
      const parts = condition.parts.map((part) => nodeSet(part, leaves, universe));
      if (parts.includes('all')) return 'all';
      const members = live(parts);
      return members.length === 0 ? 'never' : chain(members, 'UNION');
    }
    case 'and': {
      // Negated parts become EXCEPT: `a AND NOT b` is `a EXCEPT b`, without the set of every node.
      const positive = condition.parts.filter((part) => part.kind !== 'not').map((part) => nodeSet(part, leaves, universe));
      const negative = condition.parts.flatMap((part) => (part.kind === 'not' ? [nodeSet(part.part, leaves, universe)] : []));
      if (positive.includes('never') || negative.includes('all')) return 'never';
      const kept = live(positive);
      const excluded = live(negative);
      if (excluded.length === 0) return kept.length === 0 ? 'all' : chain(kept, 'INTERSECT');
      const base = kept.length === 0 ? undefined : chain(kept, 'INTERSECT');
      const removed = chain(excluded, 'UNION') as Exclude<NodeSet, 'all' | 'never'>;
      return {
        compound: true,
        render: (param) => `${base === undefined ? universe : (base as Exclude<NodeSet, 'all' | 'never'>).render(param)} EXCEPT ${wrap(removed, param)}`,
      };
    }
    case 'not': {
      const operand = nodeSet(condition.part, leaves, universe);
      if (operand === 'all') return 'never';
      if (operand === 'never') return 'all';
      return { compound: true, render: (param) => `${universe} EXCEPT ${wrap(operand, param)}` };
    }
    default: {
      const leaf = leaves.get(condition)!;
      return leaf === 'never' ? 'never' : { compound: leaf.compound, render: (param) => leaf.set(param) };
    }
  }
}

/**
 * The WHERE clause (over `nodes n`) of a query: its scope (collective, last seen) and its planned filter.
 * `condition` is the planned filter, or undefined for every node.
 */
export async function buildWhere(query: RegistrationQuery, condition: Condition | undefined, dialect: SqlDialect, rows: RowSource): Promise<WhereClause> {
  const leaves = new Map<Condition, Leaf>();
  if (condition) await resolveLeaves(condition, new LeafResolver(dialect, rows), leaves);
  const params: unknown[] = [];
  const param: AddParam = (value) => {
    params.push(value);
    return dialect.placeholder(params.length);
  };
  const parts: string[] = [];
  if (query.seenSince !== undefined) parts.push(`n.last_seen >= ${param(query.seenSince)}`);
  if (query.collective !== undefined) {
    parts.push(`n.id IN (SELECT node_id FROM ${dialect.table('collectives')} WHERE name = ${param(query.collective)})`);
  }
  if (condition && dialect.style === 'predicate') parts.push(predicate(condition, leaves, param));
  if (condition && dialect.style === 'set') {
    const set = nodeSet(condition, leaves, `SELECT id FROM ${dialect.table('nodes')}`);
    if (set === 'never') parts.push(NEVER);
    else if (set !== 'all') parts.push(`n.id IN (${set.render(param)})`);
  }
  return { sql: parts.length === 0 ? ALWAYS : parts.join(' AND '), params };
}
