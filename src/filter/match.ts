/**
 * Request filter matching: does this node take part in a request? Every list of a
 * RequestFilter is ANDed (a node must match every entry of every list), as in MCollective.
 */
import { FilterSyntaxError } from '../errors.js';
import type { RequestFilter } from '../inter/message.js';
import { compileCompound } from './compound.js';
import { compileFactFilter, factFilterProblem } from './fact.js';
import { nameMatcher } from './regex.js';

/** What a node exposes to filters. Facts are flattened to dotted names with string values. */
export interface NodeFacts {
  identity: string;
  facts: Readonly<Record<string, string>>;
  classes: readonly string[];
  agents: readonly string[];
}

/** A filter that matches every node. */
export function emptyFilter(): RequestFilter {
  return { fact: [], cf_class: [], agent: [], identity: [], compound: [] };
}

/** Every problem with a filter received from the wire (shape, regexes, compound syntax), at once. */
export function validateRequestFilter(filter: unknown): string[] {
  if (typeof filter !== 'object' || filter === null || Array.isArray(filter)) return ['filter: expected an object'];
  const record = filter as Record<string, unknown>;
  const problems: string[] = [];
  for (const list of ['fact', 'cf_class', 'agent', 'identity', 'compound'] as const) {
    const value = record[list];
    if (value === undefined) continue;
    if (!Array.isArray(value)) { problems.push(`filter.${list}: expected a list`); continue; }
    value.forEach((entry, index) => {
      const where = `filter.${list}[${index}]`;
      if (list === 'fact') {
        const problem = factFilterProblem(entry);
        if (problem) problems.push(`${where}: ${problem}`);
        return;
      }
      if (typeof entry !== 'string') { problems.push(`${where}: expected a string`); return; }
      try {
        if (list === 'compound') compileCompound(entry);
        else nameMatcher(entry, where);
      } catch (error) {
        problems.push(`${where}: ${(error as Error).message}`);
      }
    });
  }
  return problems;
}

/**
 * Compiles a request filter into a predicate over NodeFacts: any identity entry, and every class, agent,
 * fact and compound entry, must match. Throws FilterSyntaxError listing
 * every problem when the filter is malformed; a missing list counts as empty.
 */
export function compileFilter(filter: RequestFilter): (node: NodeFacts) => boolean {
  const problems = validateRequestFilter(filter);
  if (problems.length > 0) throw new FilterSyntaxError(problems.join('; '));
  const identity = (filter.identity ?? []).map((entry) => nameMatcher(entry, 'filter.identity'));
  const classes = (filter.cf_class ?? []).map((entry) => nameMatcher(entry, 'filter.cf_class'));
  const agents = (filter.agent ?? []).map((entry) => nameMatcher(entry, 'filter.agent'));
  const facts = (filter.fact ?? []).map((entry) => compileFactFilter(entry));
  const compound = (filter.compound ?? []).map((entry) => compileCompound(entry));
  return (node) =>
    // A node has one identity, so identity entries are alternatives (MCollective ORs them); every other list ANDs.
    (identity.length === 0 || identity.some((test) => test(node.identity))) &&
    classes.every((test) => node.classes.some(test)) &&
    agents.every((test) => node.agents.some(test)) &&
    facts.every((test) => test(node.facts)) &&
    compound.every((test) => test(node));
}

/** Whether `node` matches `filter`; throws FilterSyntaxError for a malformed filter. */
export function matchFilter(filter: RequestFilter, node: NodeFacts): boolean {
  return compileFilter(filter)(node);
}
