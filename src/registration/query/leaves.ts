/**
 * The leaves of a planned filter as SQL: each identity, agent, class or fact condition becomes the set of node
 * ids it selects, written so an index serves it. What SQL cannot decide exactly (regexes, lexical ranges) is
 * decided in JS on what an index narrows it to (the distinct values of one fact, the distinct class or agent
 * names, the identities) and enters the statement as a list. A leaf renders itself only once its place in the
 * statement is known, so `?` parameters bind in the order they are written.
 */
import type { FactCondition, NameMatch } from './plan.js';
import type { RowSource, SqlDialect } from './sql.js';

/** Adds a parameter and returns its placeholder. */
export type AddParam = (value: unknown) => string;

/** A leaf: as a predicate on `nodes n`, or as a SELECT of an `id` column; `never` when it selects nothing. */
export type Leaf = 'never' | {
  predicate(param: AddParam): string;
  set(param: AddParam): string;
  /** Whether `set` is a compound SELECT (UNION), which must be wrapped to sit inside another. */
  readonly compound: boolean;
};

/** Turns conditions into leaves for one query, remembering what JS decided for the query's duration. */
export class LeafResolver {
  private readonly factValues = new Map<string, Promise<string[]>>();
  private readonly names = new Map<string, Promise<readonly string[]>>();
  private identityRows: Promise<ReadonlyArray<{ id: number; identity: string }>> | undefined;

  constructor(private readonly dialect: SqlDialect, private readonly rows: RowSource) {}

  /** Node ids in the statement as a list parameter. */
  private ids(ids: readonly number[]): Leaf {
    if (ids.length === 0) return 'never';
    const list = this.dialect.list(ids);
    return {
      compound: false,
      predicate: (param) => this.dialect.inList('n.id', param(list), true),
      set: (param) => this.dialect.idSet(param(list)),
    };
  }

  /** Nodes with a row in `table` for which `test` holds. */
  private rowsOf(table: 'facts' | 'agents' | 'classes', name: string, test: (param: AddParam) => string): Leaf {
    const set = (param: AddParam): string => {
      const placeholder = param(name);
      return `SELECT node_id AS id FROM ${this.dialect.table(table)} WHERE name = ${placeholder} AND ${test(param)}`;
    };
    return { compound: false, predicate: (param) => `n.id IN (${set(param)})`, set };
  }

  async identity(match: NameMatch): Promise<Leaf> {
    if ('exact' in match) {
      const name = match.exact;
      return {
        compound: false,
        predicate: (param) => `n.identity = ${param(name)}`,
        set: (param) => `SELECT id FROM ${this.dialect.table('nodes')} WHERE identity = ${param(name)}`,
      };
    }
    this.identityRows ??= this.rows.identities();
    return this.ids((await this.identityRows).filter((row) => match.pattern.test(row.identity)).map((row) => row.id));
  }

  async member(set: 'agents' | 'classes', match: NameMatch): Promise<Leaf> {
    if ('exact' in match) return this.rowsOf(set, match.exact, () => '1 = 1');
    let names = this.names.get(set);
    if (!names) this.names.set(set, (names = this.rows.memberNames(set)));
    const matching = (await names).filter((name) => match.pattern.test(name));
    if (matching.length === 0) return 'never';
    // Stated on the name column: `name IN (...)` instead of `name = ?`.
    const list = this.dialect.list(matching);
    const table = this.dialect.table(set);
    const select = (param: AddParam): string => `SELECT node_id AS id FROM ${table} WHERE ${this.dialect.inList('name', param(list), false)}`;
    return { compound: false, predicate: (param) => `n.id IN (${select(param)})`, set: select };
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

  private valueIn(fact: string, values: readonly string[]): Leaf {
    if (values.length === 0) return 'never';
    const list = this.dialect.list(values);
    return this.rowsOf('facts', fact, (param) => this.dialect.valueIs(param(list), values, true));
  }

  async fact(condition: FactCondition): Promise<Leaf> {
    const { plan, fact } = condition;
    const d = this.dialect;
    switch (plan.sql) {
      case 'equal':
        return this.rowsOf('facts', fact, (param) => d.valueIs(param(plan.value), [plan.value], false));
      case 'unequal':
        return this.rowsOf('facts', fact, (param) => `value <> ${param(plan.value)}`);
      case 'num-equal':
        return this.rowsOf('facts', fact, (param) => `num = ${d.number(param(plan.number))}`);
      case 'num-unequal':
        return this.rowsOf('facts', fact, (param) => `(num IS NULL OR num <> ${d.number(param(plan.number))})`);
      case 'num-range': {
        const numeric = this.rowsOf('facts', fact, (param) => `num ${plan.operator} ${d.number(param(plan.number))}`);
        const lexical = this.valueIn(fact, await this.decidedInJs(condition, true));
        if (lexical === 'never' || numeric === 'never') return numeric;
        return {
          compound: true,
          predicate: (param) => `(${numeric.predicate(param)} OR ${lexical.predicate(param)})`,
          set: (param) => `${numeric.set(param)} UNION ${lexical.set(param)}`,
        };
      }
      case 'js':
        return this.valueIn(fact, await this.decidedInJs(condition, false));
    }
  }
}
