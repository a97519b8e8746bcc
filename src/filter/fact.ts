/**
 * Fact filters: parsing `-F`/`-W` style strings (`country=uk`, `uptime>=3600`, `os=~/linux/i`)
 * and matching them against a node's facts with MCollective's operator semantics.
 */
import { FilterSyntaxError } from '../errors.js';
import type { FactFilter, FactOperator } from '../inter/message.js';
import { compileLinearRegex, compilePattern, isRegexLiteral, quoteForMessage, type LinearRegex, type RegexCompiler } from './regex.js';
import { NAME_RULES, isName } from '../names.js';

/** Every operator a fact filter may use. */
export const FACT_OPERATORS: readonly FactOperator[] = ['==', '=~', '!=', '<', '>', '<=', '>='];


// Longest operators first so `<=` is not read as `<` followed by `=...`.
const OPERATOR_PATTERN = /^([^\s=<>!~]+?)\s*(=>|=<|<=|>=|==|=~|!=|<|>|=)\s*(.*)$/s;

/** Removes one pair of matching surrounding quotes. */
function unquote(text: string): string {
  if (text.length >= 2 && (text[0] === '"' || text[0] === "'") && text.at(-1) === text[0]) return text.slice(1, -1);
  return text;
}

/**
 * Reads `fact<op>value` into a FactFilter and checks its shape without compiling its regex (compound
 * expressions are read whole first, then compiled). `=` means `==`, or `=~` when the value is a `/regex/`;
 * `=>` and `=<` are accepted as MCollective does. Throws FilterSyntaxError.
 */
export function readFactFilter(text: string): FactFilter {
  if (typeof text !== 'string') throw new FilterSyntaxError(`fact filter: expected a string, got ${typeof text}`);
  const match = OPERATOR_PATTERN.exec(text.trim());
  if (!match) {
    throw new FilterSyntaxError(`fact filter ${quoteForMessage(text)}: expected fact<op>value with op one of = ${FACT_OPERATORS.join(' ')}`);
  }
  const [, fact, written, rawValue] = match as unknown as [string, string, string, string];
  const value = unquote(rawValue.trim());
  if (value === '') throw new FilterSyntaxError(`fact filter ${quoteForMessage(text)}: missing value after ${written}`);
  let operator: FactOperator;
  if (written === '=>') operator = '>=';
  else if (written === '=<') operator = '<=';
  else if (written === '=') operator = isRegexLiteral(value) ? '=~' : '==';
  else operator = written as FactOperator;
  const filter: FactFilter = { fact, operator, value };
  const problem = shapeProblem(filter);
  if (problem) throw new FilterSyntaxError(`fact filter ${quoteForMessage(text)}: ${problem}`);
  return filter;
}

/** Parses `fact<op>value` into a FactFilter (as readFactFilter), and also compiles its regex to check it. */
export function parseFactFilter(text: string): FactFilter {
  const filter = readFactFilter(text);
  const problem = factFilterProblem(filter);
  if (problem) throw new FilterSyntaxError(`fact filter ${quoteForMessage(text)}: ${problem}`);
  return filter;
}

/** What is wrong with the shape of a FactFilter (name, operator, value type), regex aside. */
function shapeProblem(filter: unknown): string | undefined {
  if (typeof filter !== 'object' || filter === null) return 'expected {fact, operator, value}';
  const { fact, operator, value } = filter as Record<string, unknown>;
  if (!isName('fact', fact)) return `fact name ${quoteForMessage(fact)} is not valid (${NAME_RULES.fact.description})`;
  if (typeof operator !== 'string' || !FACT_OPERATORS.includes(operator as FactOperator)) {
    return `operator ${quoteForMessage(operator)} is not one of ${FACT_OPERATORS.join(' ')}`;
  }
  if (typeof value !== 'string') return `value of fact ${fact} must be a string`;
  return undefined;
}

/** Whether a fact filter compares by regex: `=~`, or `==`/`!=` with a `/regex/` value. */
export function isRegexFactFilter(filter: unknown): boolean {
  if (typeof filter !== 'object' || filter === null) return false;
  const { operator, value } = filter as Record<string, unknown>;
  if (typeof value !== 'string') return false;
  return operator === '=~' || ((operator === '==' || operator === '!=') && isRegexLiteral(value));
}

/**
 * The compiled predicate of a fact filter, or what is wrong with it (shape or regex). Its regex, if any, is
 * compiled with `compile` (compileLinearRegex unless the caller budgets several patterns).
 */
export function tryCompileFactFilter(
  filter: unknown,
  compile: RegexCompiler = compileLinearRegex,
): { test: (facts: Readonly<Record<string, string>>) => boolean } | { problem: string } {
  const problem = shapeProblem(filter);
  if (problem) return { problem };
  const { fact, operator, value } = filter as FactFilter;
  if (isRegexFactFilter(filter)) {
    let pattern: LinearRegex;
    try {
      pattern = compilePattern(value, `fact ${fact}`, operator === '=~', compile);
    } catch (error) {
      return { problem: (error as Error).message };
    }
    const negate = operator === '!=';
    return {
      test: (facts) => {
        const actual = ownFact(facts, fact);
        return actual !== undefined && pattern.test(actual) !== negate;
      },
    };
  }
  return {
    test: (facts) => {
      const actual = ownFact(facts, fact);
      if (actual === undefined) return false;
      const order = compare(actual, value);
      switch (operator) {
        case '==': return order === 0;
        case '!=': return order !== 0;
        case '<': return order < 0;
        case '>': return order > 0;
        case '<=': return order <= 0;
        case '>=': return order >= 0;
        default: return false;
      }
    },
  };
}

/** What is wrong with a FactFilter received from elsewhere (the wire): its shape or its regex; or undefined. */
export function factFilterProblem(filter: unknown): string | undefined {
  const compiled = tryCompileFactFilter(filter);
  return 'problem' in compiled ? compiled.problem : undefined;
}

/**
 * A fact's value, read from the map's own properties only: fact names come from the wire, and `constructor`
 * or `toString` must not find Object.prototype's members when a map has a prototype (a registration record
 * parsed from JSON does; NodeFactSource's maps do not).
 */
function ownFact(facts: Readonly<Record<string, string>>, name: string): string | undefined {
  return Object.hasOwn(facts, name) ? facts[name] : undefined;
}

const NUMERIC = /^[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$/;

/** Whether both strings are numbers, so comparisons are numeric rather than lexical. */
function bothNumeric(a: string, b: string): boolean {
  return NUMERIC.test(a.trim()) && NUMERIC.test(b.trim());
}

/** Orders two fact values: numerically when both are numbers, lexically otherwise. */
function compare(a: string, b: string): number {
  if (bothNumeric(a, b)) return Number(a) - Number(b);
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * A predicate for one fact filter. A node without the fact never matches (not even `!=`),
 * as in MCollective. `==`/`!=` with a `/regex/` value match by regex. Throws FilterSyntaxError
 * for a bad filter, at compile time rather than per node.
 */
export function compileFactFilter(filter: FactFilter): (facts: Readonly<Record<string, string>>) => boolean {
  const compiled = tryCompileFactFilter(filter);
  if ('problem' in compiled) throw new FilterSyntaxError(`fact filter: ${compiled.problem}`);
  return compiled.test;
}
