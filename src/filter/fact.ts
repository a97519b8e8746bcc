/**
 * Fact filters: parsing `-F`/`-W` style strings (`country=uk`, `uptime>=3600`, `os=~/linux/i`)
 * and matching them against a node's facts with MCollective's operator semantics.
 */
import { FilterSyntaxError } from '../errors.js';
import type { FactFilter, FactOperator } from '../inter/message.js';
import { compilePattern, isRegexLiteral } from './regex.js';
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
 * Parses `fact<op>value` into a FactFilter. `=` means `==`, or `=~` when the value is a
 * `/regex/`; `=>` and `=<` are accepted as MCollective does. Throws FilterSyntaxError.
 */
export function parseFactFilter(text: string): FactFilter {
  if (typeof text !== 'string') throw new FilterSyntaxError(`fact filter: expected a string, got ${typeof text}`);
  const match = OPERATOR_PATTERN.exec(text.trim());
  if (!match) {
    throw new FilterSyntaxError(`fact filter ${JSON.stringify(text)}: expected fact<op>value with op one of = ${FACT_OPERATORS.join(' ')}`);
  }
  const [, fact, written, rawValue] = match as unknown as [string, string, string, string];
  const value = unquote(rawValue.trim());
  if (value === '') throw new FilterSyntaxError(`fact filter ${JSON.stringify(text)}: missing value after ${written}`);
  let operator: FactOperator;
  if (written === '=>') operator = '>=';
  else if (written === '=<') operator = '<=';
  else if (written === '=') operator = isRegexLiteral(value) ? '=~' : '==';
  else operator = written as FactOperator;
  const filter: FactFilter = { fact, operator, value };
  const problem = factFilterProblem(filter);
  if (problem) throw new FilterSyntaxError(`fact filter ${JSON.stringify(text)}: ${problem}`);
  return filter;
}

/** What is wrong with a FactFilter received from elsewhere (the wire), or undefined. */
export function factFilterProblem(filter: unknown): string | undefined {
  if (typeof filter !== 'object' || filter === null) return 'expected {fact, operator, value}';
  const { fact, operator, value } = filter as Record<string, unknown>;
  if (!isName('fact', fact)) return `fact name ${JSON.stringify(fact)} is not valid (${NAME_RULES.fact.description})`;
  if (typeof operator !== 'string' || !FACT_OPERATORS.includes(operator as FactOperator)) {
    return `operator ${JSON.stringify(operator)} is not one of ${FACT_OPERATORS.join(' ')}`;
  }
  if (typeof value !== 'string') return `value of fact ${fact} must be a string`;
  if (operator === '=~') {
    try {
      compilePattern(value, `fact ${fact}`, true);
    } catch (error) {
      return (error as Error).message;
    }
  }
  return undefined;
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
  const problem = factFilterProblem(filter);
  if (problem) throw new FilterSyntaxError(`fact filter: ${problem}`);
  const { fact, operator, value } = filter;
  const regexValued = operator === '=~' || ((operator === '==' || operator === '!=') && isRegexLiteral(value));
  if (regexValued) {
    const pattern = compilePattern(value, `fact ${fact}`, true);
    const negate = operator === '!=';
    return (facts) => {
      const actual = facts[fact];
      return actual !== undefined && pattern.test(actual) !== negate;
    };
  }
  return (facts) => {
    const actual = facts[fact];
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
  };
}
