/**
 * Request filter matching: does this node take part in a request? Every list of a
 * RequestFilter is ANDed (a node must match every entry of every list), as in MCollective.
 *
 * Filters arrive from the network and are evaluated before authorization, so their cost is bounded: a filter
 * holds at most MAX_FILTER_REGEXES regexes (counted before any is compiled), each compiled once by the
 * linear-time engine (compileLinearRegex bounds each one's size), and all of them together compile to at most
 * MAX_FILTER_PROGRAM_SIZE instructions and MAX_FILTER_CLASS_RANGES class ranges (checked as they compile, before
 * anything is matched).
 */
import { FilterSyntaxError } from '../errors.js';
import type { RequestFilter } from '../inter/message.js';
import { compileCompoundTree, countCompoundRegexes, parseCompound, type CompoundNode } from './compound.js';
import { isRegexFactFilter, tryCompileFactFilter } from './fact.js';
import { compileLinearRegex, isRegexLiteral, nameMatcher, type RegexCompiler } from './regex.js';

/** What a node exposes to filters. Facts are flattened to dotted names with string values. */
export interface NodeFacts {
  identity: string;
  facts: Readonly<Record<string, string>>;
  classes: readonly string[];
  agents: readonly string[];
}

/** The most regexes one request filter may hold, across every list and compound expression. */
export const MAX_FILTER_REGEXES = 32;

/**
 * The most RE2 program instructions all regexes of one request filter may compile to together (each one at
 * most MAX_PROGRAM_SIZE): the automata's set-up cost grows with program size, so this bounds a request's work.
 */
export const MAX_FILTER_PROGRAM_SIZE = 512;

/** The most character ranges all regexes of one request filter may hold together (each at most MAX_CLASS_RANGES). */
export const MAX_FILTER_CLASS_RANGES = 8192;

/** The most problems one report lists; the rest are counted (a hostile filter must not make a huge log line). */
export const MAX_REPORTED_PROBLEMS = 10;

type Predicate = (node: NodeFacts) => boolean;

const LISTS = ['fact', 'cf_class', 'agent', 'identity', 'compound'] as const;

/** A filter that matches every node. */
export function emptyFilter(): RequestFilter {
  return { fact: [], cf_class: [], agent: [], identity: [], compound: [] };
}

/** Problems, capped at MAX_REPORTED_PROBLEMS with a count of the rest. */
function capped(problems: string[]): string[] {
  if (problems.length <= MAX_REPORTED_PROBLEMS) return problems;
  return [...problems.slice(0, MAX_REPORTED_PROBLEMS), `and ${problems.length - MAX_REPORTED_PROBLEMS} more problem(s)`];
}

type Lists = Partial<Record<(typeof LISTS)[number], unknown[]>>;

/** How many regexes a filter holds, from its lists and parsed compound trees, without compiling any. */
function regexCount(lists: Lists, trees: readonly (CompoundNode | undefined)[]): number {
  return (['identity', 'cf_class', 'agent'] as const).reduce((sum, list) => sum + (lists[list] ?? []).filter(isRegexLiteral).length, 0) +
    (lists.fact ?? []).filter(isRegexFactFilter).length +
    trees.reduce((sum, tree) => sum + (tree ? countCompoundRegexes(tree) : 0), 0);
}

/**
 * A compiler that stops once the filter's regexes together exceed MAX_FILTER_PROGRAM_SIZE instructions or
 * MAX_FILTER_CLASS_RANGES ranges: nothing more is compiled, and `spent()` tells the caller to report the budget
 * rather than each entry.
 */
function programBudget(): { compile: RegexCompiler; spent(): boolean } {
  let programSize = 0;
  let classRanges = 0;
  let spent = false;
  const compile: RegexCompiler = (source, flags, where) => {
    if (spent) throw new FilterSyntaxError(`${where}: not compiled (the filter's regex budget is spent)`);
    const regex = compileLinearRegex(source, flags, where);
    programSize += regex.programSize;
    classRanges += regex.classRanges;
    spent = programSize > MAX_FILTER_PROGRAM_SIZE || classRanges > MAX_FILTER_CLASS_RANGES;
    if (spent) throw new FilterSyntaxError(`${where}: the filter's regex budget is spent`);
    return regex;
  };
  return { compile, spent: () => spent };
}

/**
 * Checks and compiles a filter in one pass: shapes and compound syntax first, then the regex count, then
 * every entry compiled once. Returns every problem (capped), or the predicate.
 */
function compileOrExplain(filter: unknown): { problems: string[]; predicate?: Predicate } {
  if (typeof filter !== 'object' || filter === null || Array.isArray(filter)) return { problems: ['filter: expected an object'] };
  const record = filter as Record<string, unknown>;
  const problems: string[] = [];
  const lists: Lists = {};
  for (const list of LISTS) {
    const value = Object.hasOwn(record, list) ? record[list] : undefined;
    if (value === undefined) continue;
    if (Array.isArray(value)) lists[list] = value;
    else problems.push(`filter.${list}: expected a list`);
  }
  const trees: (CompoundNode | undefined)[] = (lists.compound ?? []).map((entry, index) => {
    if (typeof entry !== 'string') { problems.push(`filter.compound[${index}]: expected a string`); return undefined; }
    try {
      return parseCompound(entry);
    } catch (error) {
      problems.push(`filter.compound[${index}]: ${(error as Error).message}`);
      return undefined;
    }
  });
  const regexes = regexCount(lists, trees);
  if (regexes > MAX_FILTER_REGEXES) {
    problems.push(`filter: ${regexes} regular expressions, at most ${MAX_FILTER_REGEXES} are accepted in one filter`);
    return { problems: capped(problems) };
  }

  const budget = programBudget();
  const compile = budget.compile;
  const attempt = <T>(where: string, build: () => T): T | undefined => {
    try {
      return build();
    } catch (error) {
      problems.push(`${where}: ${(error as Error).message}`);
      return undefined;
    }
  };
  const names = (list: 'identity' | 'cf_class' | 'agent'): ((name: string) => boolean)[] =>
    (lists[list] ?? []).flatMap((entry, index) => {
      const where = `filter.${list}[${index}]`;
      if (typeof entry !== 'string') { problems.push(`${where}: expected a string`); return []; }
      try {
        return [nameMatcher(entry, where, compile)];
      } catch (error) {
        problems.push((error as Error).message);
        return [];
      }
    });
  const identity = names('identity');
  const classes = names('cf_class');
  const agents = names('agent');
  const facts = (lists.fact ?? []).flatMap((entry, index) => {
    const compiled = tryCompileFactFilter(entry, compile);
    if ('problem' in compiled) { problems.push(`filter.fact[${index}]: ${compiled.problem}`); return []; }
    return [compiled.test];
  });
  const compound = trees.flatMap((tree, index) => {
    const test = tree && attempt(`filter.compound[${index}]`, () => compileCompoundTree(tree, compile));
    return test ? [test] : [];
  });
  if (budget.spent()) {
    return { problems: [`filter: its regular expressions are too complex together (more than ${MAX_FILTER_PROGRAM_SIZE} instructions or ${MAX_FILTER_CLASS_RANGES} character ranges); use fewer or simpler patterns`] };
  }
  if (problems.length > 0) return { problems: capped(problems) };
  return {
    problems,
    predicate: (node) =>
      // A node has one identity, so identity entries are alternatives (MCollective ORs them); every other list ANDs.
      (identity.length === 0 || identity.some((test) => test(node.identity))) &&
      classes.every((test) => node.classes.some(test)) &&
      agents.every((test) => node.agents.some(test)) &&
      facts.every((test) => test(node.facts)) &&
      compound.every((test) => test(node)),
  };
}

/** Every problem with a filter received from the wire (shape, regexes, compound syntax), at once (capped). */
export function validateRequestFilter(filter: unknown): string[] {
  return compileOrExplain(filter).problems;
}

/**
 * Compiles a request filter into a predicate over NodeFacts: any identity entry, and every class, agent,
 * fact and compound entry, must match. Throws FilterSyntaxError listing every problem when the filter is
 * malformed or holds a refused regex; a missing list counts as empty.
 */
export function compileFilter(filter: RequestFilter): (node: NodeFacts) => boolean {
  const { problems, predicate } = compileOrExplain(filter);
  if (!predicate) throw new FilterSyntaxError(problems.join('; '));
  return predicate;
}

/** Whether `node` matches `filter`; throws FilterSyntaxError for a malformed filter. */
export function matchFilter(filter: RequestFilter, node: NodeFacts): boolean {
  return compileFilter(filter)(node);
}
