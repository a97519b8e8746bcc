/**
 * Condition trees as SQL over the registration tables (`nodes`, `facts`, `agents`, `classes`, `collectives`):
 * every leaf is an indexed `n.id IN (SELECT node_id ...)` or `n.identity = ?`, combined with AND, OR and NOT.
 * What SQL cannot decide exactly (regexes, lexical ranges) is decided in JS on what an index narrows it to (the
 * distinct values of one fact, the distinct class or agent names, the identities), and enters the query as a
 * list of the values, names or ids that passed.
 * Dialects differ only in placeholders, list parameters and table names.
 */
import type { RegistrationQuery } from '../../inter/registration.js';
import type { Condition, FactCondition } from './plan.js';
import type { NameMatch } from './regex.js';

/** The registration tables. */
export type RegistrationTable = 'nodes' | 'facts' | 'agents' | 'classes' | 'collectives';

/** How one SQL database spells what the builder needs. */
export interface SqlDialect {
  /** The placeholder of the n-th parameter (1-based): `?` or `$n`. */
  placeholder(index: number): string;
  /** A numeric (double) parameter. */
  number(placeholder: string): string;
  /** `column` is one of the values of a list parameter (ids when `ids`, else text). */
  inList(column: string, placeholder: string, ids: boolean): string;
  /** The value a list parameter is bound as. */
  list(values: readonly (string | number)[]): unknown;
  /**
   * A condition on the `value` column that the (name, value) index serves: `value = <placeholder>` when `values`
   * holds one value, else `value` is one of the list parameter `placeholder` holds. `values` are the bound values
   * themselves, for dialects whose index holds short values only.
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

/** Builds the WHERE clause of one query; decisions made in JS are remembered for the query's duration. */
class WhereBuilder {
  readonly params: unknown[] = [];
  private readonly factValues = new Map<string, Promise<string[]>>();
  private readonly names = new Map<string, Promise<readonly string[]>>();
  private identityRows: Promise<ReadonlyArray<{ id: number; identity: string }>> | undefined;

  constructor(private readonly dialect: SqlDialect, private readonly rows: RowSource) {}

  param(value: unknown): string {
    this.params.push(value);
    return this.dialect.placeholder(this.params.length);
  }

  private idList(ids: readonly number[]): string {
    return ids.length === 0 ? NEVER : this.dialect.inList('n.id', this.param(this.dialect.list(ids)), true);
  }

  async condition(condition: Condition): Promise<string> {
    switch (condition.kind) {
      case 'and':
      case 'or': {
        if (condition.parts.length === 0) return condition.kind === 'and' ? ALWAYS : NEVER;
        const parts: string[] = [];
        for (const part of condition.parts) parts.push(await this.condition(part));
        return parts.length === 1 ? parts[0]! : `(${parts.join(condition.kind === 'and' ? ' AND ' : ' OR ')})`;
      }
      case 'not':
        return `NOT (${await this.condition(condition.part)})`;
      case 'identity':
        return this.identity(condition.match);
      case 'member':
        return this.member(condition.set, condition.match);
      case 'fact':
        return this.fact(condition);
    }
  }

  private async identity(match: NameMatch): Promise<string> {
    if ('exact' in match) return `n.identity = ${this.param(match.exact)}`;
    this.identityRows ??= this.rows.identities();
    const ids = (await this.identityRows).filter((row) => match.pattern.test(row.identity)).map((row) => row.id);
    return this.idList(ids);
  }

  private async member(set: 'agents' | 'classes', match: NameMatch): Promise<string> {
    const table = this.dialect.table(set);
    if ('exact' in match) return `n.id IN (SELECT node_id FROM ${table} WHERE name = ${this.param(match.exact)})`;
    let names = this.names.get(set);
    if (!names) this.names.set(set, (names = this.rows.memberNames(set)));
    const matching = (await names).filter((name) => match.pattern.test(name));
    if (matching.length === 0) return NEVER;
    return `n.id IN (SELECT node_id FROM ${table} WHERE ${this.dialect.inList('name', this.param(this.dialect.list(matching)), false)})`;
  }

  /** `test` adds its parameters after the fact name's: `?` placeholders bind in the order they are written. */
  private sub(fact: string, test: () => string): string {
    const name = this.param(fact);
    return `n.id IN (SELECT node_id FROM ${this.dialect.table('facts')} WHERE name = ${name} AND ${test()})`;
  }

  /** The values of the fact `matches` accepts, among all its values or the non-numeric ones. */
  private decidedInJs(condition: FactCondition, nonNumericOnly: boolean): Promise<string[]> {
    const key = `${nonNumericOnly ? 'n' : 'a'}\u0000${condition.key}`;
    let values = this.factValues.get(key);
    if (!values) {
      // Each distinct value is tested once, however many nodes share it (os, country).
      values = this.rows.factValues(condition.fact, nonNumericOnly).then((all) => all.filter((value) => condition.matches(value)));
      this.factValues.set(key, values);
    }
    return values;
  }

  /** Nodes whose value of the fact is one of `values`. */
  private valueIn(fact: string, values: readonly string[]): string {
    return values.length === 0 ? NEVER : this.sub(fact, () => this.dialect.valueIs(this.param(this.dialect.list(values)), values, true));
  }

  private async fact(condition: FactCondition): Promise<string> {
    const { plan, fact } = condition;
    const d = this.dialect;
    switch (plan.sql) {
      case 'equal':
        return this.sub(fact, () => d.valueIs(this.param(plan.value), [plan.value], false));
      case 'unequal':
        return this.sub(fact, () => `value <> ${this.param(plan.value)}`);
      case 'num-equal':
        return this.sub(fact, () => `num = ${d.number(this.param(plan.number))}`);
      case 'num-unequal':
        return this.sub(fact, () => `(num IS NULL OR num <> ${d.number(this.param(plan.number))})`);
      case 'num-range': {
        const numeric = this.sub(fact, () => `num ${plan.operator} ${d.number(this.param(plan.number))}`);
        const lexical = await this.decidedInJs(condition, true);
        return lexical.length === 0 ? numeric : `(${numeric} OR ${this.valueIn(fact, lexical)})`;
      }
      case 'js':
        return this.valueIn(fact, await this.decidedInJs(condition, false));
    }
  }
}

/**
 * The WHERE clause (over `nodes n`) of a query: its scope (collective, last seen) and its planned filter.
 * `condition` is the planned filter, or undefined for every node.
 */
export async function buildWhere(query: RegistrationQuery, condition: Condition | undefined, dialect: SqlDialect, rows: RowSource): Promise<WhereClause> {
  const builder = new WhereBuilder(dialect, rows);
  const parts: string[] = [];
  if (query.seenSince !== undefined) parts.push(`n.last_seen >= ${builder.param(query.seenSince)}`);
  if (query.collective !== undefined) {
    parts.push(`n.id IN (SELECT node_id FROM ${dialect.table('collectives')} WHERE name = ${builder.param(query.collective)})`);
  }
  if (condition) parts.push(await builder.condition(condition));
  return { sql: parts.length === 0 ? ALWAYS : parts.join(' AND '), params: builder.params };
}
