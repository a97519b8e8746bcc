/** Building request filters: an empty filter, and merging partial ones (every list is ANDed). */
import { FilterSyntaxError, InvalidArgumentError } from '../errors.js';
import type { FactFilter, RequestFilter } from '../inter/message.js';
import { validateRequestFilter } from '../filter/match.js';

const LIST_KEYS = ['cf_class', 'agent', 'identity', 'compound'] as const;
const FACT_OPERATORS = new Set(['==', '=~', '!=', '<', '>', '<=', '>=']);

/** A filter that matches every node. */
export function emptyFilter(): RequestFilter {
  return { fact: [], cf_class: [], agent: [], identity: [], compound: [] };
}

/** Whether the filter has no condition at all. */
export function isEmptyFilter(filter: RequestFilter): boolean {
  return filter.fact.length === 0 && LIST_KEYS.every((key) => filter[key].length === 0);
}

/**
 * A complete filter from partial ones, checking every entry's shape (the argument is named `filter`), then
 * checking the whole as a node would (regexes compiled, compound expressions parsed, the regex count), so a
 * filter every node would drop is refused here with FilterSyntaxError instead of finding nothing.
 * Lists are concatenated: a node must satisfy every condition of every part.
 */
export function buildFilter(...parts: Array<Partial<RequestFilter> | undefined>): RequestFilter {
  const filter = emptyFilter();
  for (const part of parts) {
    if (part === undefined) continue;
    if (typeof part !== 'object' || part === null) throw new InvalidArgumentError('filter: expected an object');
    for (const key of LIST_KEYS) {
      const values = part[key];
      if (values === undefined) continue;
      if (!Array.isArray(values) || !values.every((v) => typeof v === 'string' && v !== '')) {
        throw new InvalidArgumentError(`filter.${key}: expected a list of non-empty strings`);
      }
      filter[key].push(...values);
    }
    if (part.fact !== undefined) {
      if (!Array.isArray(part.fact)) throw new InvalidArgumentError('filter.fact: expected a list of {fact, operator, value}');
      part.fact.forEach((fact, index) => filter.fact.push(checkFact(fact, index)));
    }
  }
  const problems = validateRequestFilter(filter);
  if (problems.length > 0) throw new FilterSyntaxError(`filter is invalid: ${problems.join('; ')}`);
  return filter;
}

function checkFact(fact: FactFilter, index: number): FactFilter {
  const where = `filter.fact[${index}]`;
  if (typeof fact !== 'object' || fact === null) throw new InvalidArgumentError(`${where}: expected {fact, operator, value}`);
  if (typeof fact.fact !== 'string' || fact.fact === '') throw new InvalidArgumentError(`${where}.fact: expected a fact name`);
  if (!FACT_OPERATORS.has(fact.operator)) {
    throw new InvalidArgumentError(`${where}.operator: ${JSON.stringify(fact.operator)} is not one of ${[...FACT_OPERATORS].join(' ')}`);
  }
  if (typeof fact.value !== 'string') throw new InvalidArgumentError(`${where}.value: expected a string`);
  return { fact: fact.fact, operator: fact.operator, value: fact.value };
}

/**
 * The node names a filter pins down exactly: its identity entries when every one is a plain name
 * (not /regex/) and nothing else constrains the request; otherwise null. Such requests need no discovery.
 */
export function plainIdentityTargets(filter: RequestFilter): string[] | null {
  if (filter.identity.length === 0) return null;
  if (filter.fact.length > 0 || filter.cf_class.length > 0 || filter.agent.length > 0 || filter.compound.length > 0) return null;
  if (filter.identity.some((identity) => identity.startsWith('/'))) return null;
  return [...new Set(filter.identity)];
}
