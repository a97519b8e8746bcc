/**
 * A request filter turned into a condition tree a registration backend can run as a query. Every fact condition
 * carries its exact predicate (src/filter/fact.ts semantics: numeric when both sides are numbers, else lexical;
 * regexes compiled by src/filter's compileLinearRegex, the daemon's one linear-time engine with its limits) and
 * says how much of it an SQL index can decide; the rest is decided in JS on the rows the fact name selects.
 */
import { FilterSyntaxError } from '../../errors.js';
import { parseCompound, type CompoundNode } from '../../filter/compound.js';
import { validateRequestFilter } from '../../filter/match.js';
import { compilePattern, isRegexLiteral, type LinearRegex } from '../../filter/regex.js';
import type { RegistrationFactOperator, RegistrationFilter, RegistrationQuery } from '../../inter/registration.js';
import { nameProblem } from '../../names.js';
import { factNumber } from '../stores/record.js';

/** The most filter entries, and the most conditions after compound expressions are parsed, one query may hold. */
export const MAX_FILTER_ENTRIES = 256;
export const MAX_FILTER_CONDITIONS = 1024;

/** What SQL can decide of a fact condition; `js` parts are decided by `matches` on the rows of the fact. */
export type FactPlan =
  /** value = bound (lexical: the bound is not a number). */
  | { readonly sql: 'equal'; readonly value: string }
  /** value <> bound (lexical). */
  | { readonly sql: 'unequal'; readonly value: string }
  /** num = bound (a finite number; a non-numeric value never equals a numeric bound). */
  | { readonly sql: 'num-equal'; readonly number: number }
  /** num IS NULL OR num <> bound (a non-numeric value always differs from a numeric bound). */
  | { readonly sql: 'num-unequal'; readonly number: number }
  /** num <op> bound for numeric values; non-numeric values compare lexically, in JS. */
  | { readonly sql: 'num-range'; readonly operator: '<' | '>' | '<=' | '>='; readonly number: number }
  /** Nothing: regexes, lexical ranges and infinite bounds are decided in JS on every row of the fact. */
  | { readonly sql: 'js' };

/** How an identity, class or agent entry matches a name: exactly, or by a `/regex/`. */
export type NameMatch = { readonly exact: string } | { readonly pattern: LinearRegex };

/** The NameMatch of a filter entry (a `/regex/` literal, compiled for the linear-time engine, else an exact name). */
export function nameMatch(entry: string, what: string): NameMatch {
  return isRegexLiteral(entry) ? { pattern: compilePattern(entry, what) } : { exact: entry };
}

/** One fact condition. */
export interface FactCondition {
  readonly kind: 'fact';
  readonly fact: string;
  readonly operator: RegistrationFactOperator;
  readonly value: string;
  readonly plan: FactPlan;
  /** The exact predicate on a value of the fact (a node without the fact never matches). */
  readonly matches: (value: string) => boolean;
  /** Identifies the condition, so one query decides a repeated condition once. */
  readonly key: string;
}

/** A filter as a tree of conditions; `and` of nothing is true, `or` of nothing is false. */
export type Condition =
  | { readonly kind: 'and' | 'or'; readonly parts: readonly Condition[] }
  | { readonly kind: 'not'; readonly part: Condition }
  | { readonly kind: 'identity'; readonly match: NameMatch }
  | { readonly kind: 'member'; readonly set: 'agents' | 'classes'; readonly match: NameMatch }
  | FactCondition;

/** Orders two fact values exactly as src/filter/fact.ts: numerically when both are numbers, else lexically. */
export function compareFactValues(a: string, b: string): number {
  const x = factNumber(a);
  const y = factNumber(b);
  if (x !== null && y !== null) return x - y;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The condition of one fact filter (already checked by validateRequestFilter or parseCompound). */
export function factCondition(fact: string, operator: RegistrationFactOperator, value: string): FactCondition {
  const key = `${fact}\u0000${operator}\u0000${value}`;
  if (operator === '=~' || ((operator === '==' || operator === '!=') && isRegexLiteral(value))) {
    // As src/filter/fact.ts: a value after =~ may be written without delimiters.
    const pattern = compilePattern(value, `fact ${fact}`, operator === '=~');
    const negate = operator === '!=';
    return { kind: 'fact', fact, operator, value, key, plan: { sql: 'js' }, matches: (actual) => pattern.test(actual) !== negate };
  }
  const test = orderTest(operator);
  const matches = (actual: string): boolean => test(compareFactValues(actual, value));
  const bound = factNumber(value);
  let plan: FactPlan;
  if (bound === null) {
    plan = operator === '==' ? { sql: 'equal', value } : operator === '!=' ? { sql: 'unequal', value } : { sql: 'js' };
  } else if (!Number.isFinite(bound)) {
    // Infinity - Infinity is NaN in JS, where SQL calls two infinities equal: let JS decide.
    plan = { sql: 'js' };
  } else if (operator === '==') {
    plan = { sql: 'num-equal', number: bound };
  } else if (operator === '!=') {
    plan = { sql: 'num-unequal', number: bound };
  } else {
    plan = { sql: 'num-range', operator: operator as '<' | '>' | '<=' | '>=', number: bound };
  }
  return { kind: 'fact', fact, operator, value, key, plan, matches };
}

function orderTest(operator: RegistrationFactOperator): (order: number) => boolean {
  switch (operator) {
    case '==': return (order) => order === 0;
    case '!=': return (order) => order !== 0;
    case '<': return (order) => order < 0;
    case '>': return (order) => order > 0;
    case '<=': return (order) => order <= 0;
    case '>=': return (order) => order >= 0;
    default: throw new FilterSyntaxError(`fact filter: operator ${JSON.stringify(operator)} is not supported`);
  }
}

function fromCompound(node: CompoundNode, count: () => void): Condition {
  switch (node.kind) {
    case 'and':
    case 'or':
      return { kind: node.kind, parts: [fromCompound(node.left, count), fromCompound(node.right, count)] };
    case 'not':
      return { kind: 'not', part: fromCompound(node.operand, count) };
    case 'fact':
      count();
      return factCondition(node.fact, node.operator as RegistrationFactOperator, node.value);
    case 'class':
      count();
      return { kind: 'member', set: 'classes', match: nameMatch(node.name, 'compound filter class') };
  }
}

/**
 * Plans a filter: identity entries are alternatives, every other entry must hold (as src/filter/match.ts).
 * Throws FilterSyntaxError listing every problem of a malformed filter, or when it holds too many conditions.
 */
export function planFilter(filter: RegistrationFilter = {}): Condition {
  if (typeof filter !== 'object' || filter === null || Array.isArray(filter)) throw new FilterSyntaxError('filter: expected an object');
  const lists = ['identity', 'agent', 'cf_class', 'fact', 'compound'] as const;
  const entries = lists.reduce((sum, list) => sum + (Array.isArray(filter[list]) ? filter[list]!.length : 0), 0);
  if (entries > MAX_FILTER_ENTRIES) throw new FilterSyntaxError(`filter: ${entries} entries, at most ${MAX_FILTER_ENTRIES}`);
  const problems = validateRequestFilter(filter);
  if (problems.length > 0) throw new FilterSyntaxError(problems.join('; '));

  let conditions = 0;
  const count = (): void => {
    if (++conditions > MAX_FILTER_CONDITIONS) throw new FilterSyntaxError(`filter: more than ${MAX_FILTER_CONDITIONS} conditions`);
  };
  const parts: Condition[] = [];
  const identities = (filter.identity ?? []).map((entry): Condition => ({ kind: 'identity', match: nameMatch(entry, 'filter.identity') }));
  if (identities.length > 0) parts.push(identities.length === 1 ? identities[0]! : { kind: 'or', parts: identities });
  for (const entry of filter.cf_class ?? []) parts.push({ kind: 'member', set: 'classes', match: nameMatch(entry, 'filter.cf_class') });
  for (const entry of filter.agent ?? []) parts.push({ kind: 'member', set: 'agents', match: nameMatch(entry, 'filter.agent') });
  for (const entry of filter.fact ?? []) parts.push(factCondition(entry.fact, entry.operator, entry.value));
  conditions = entries - (filter.compound?.length ?? 0);
  for (const expression of filter.compound ?? []) parts.push(fromCompound(parseCompound(expression), count));
  return parts.length === 1 ? parts[0]! : { kind: 'and', parts };
}

/** A checked query: its scope (collective, seenSince) and its planned filter (undefined for every node). */
export interface PlannedQuery {
  scope: { collective?: string; seenSince?: number };
  condition: Condition | undefined;
}

/** Checks and plans a query; throws FilterSyntaxError for a malformed filter, collective or seenSince. */
export function planQuery(query: RegistrationQuery = {}): PlannedQuery {
  if (typeof query !== 'object' || query === null) throw new FilterSyntaxError('query: expected an object');
  const scope: PlannedQuery['scope'] = {};
  if (query.collective !== undefined) {
    const problem = nameProblem('collective', 'collective', query.collective);
    if (problem) throw new FilterSyntaxError(problem);
    scope.collective = query.collective;
  }
  if (query.seenSince !== undefined) {
    if (typeof query.seenSince !== 'number' || !Number.isFinite(query.seenSince)) {
      throw new FilterSyntaxError(`seenSince: expected milliseconds since the epoch, got ${String(query.seenSince)}`);
    }
    scope.seenSince = query.seenSince;
  }
  return { scope, condition: query.filter === undefined ? undefined : planFilter(query.filter) };
}
