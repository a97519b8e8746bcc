/**
 * `/pattern/` literals as MCollective filters write them. Patterns arrive from the network, so they are
 * compiled only through compileLinearRegex (linear-time engine, bounded size), never with RegExp.
 */
import { FilterSyntaxError } from '../errors.js';
import { compileLinearRegex, type LinearRegex, type RegexCompiler } from './linear-regex.js';

export { compileLinearRegex, backtrackingConstruct, MAX_CLASS_RANGES, MAX_PATTERN_LENGTH, MAX_PROGRAM_SIZE, REGEX_FLAGS } from './linear-regex.js';
export type { LinearRegex, RegexCompiler } from './linear-regex.js';

/**
 * `value` as an error message shows it: a string quoted and cut to `max` characters, a number, boolean or null
 * as written, anything else by its kind. Filter entries come from the wire, so a message must not grow with them.
 */
export function quoteForMessage(value: unknown, max = 80): string {
  if (typeof value === 'string') return JSON.stringify(value.length > max ? `${value.slice(0, max)}...` : value);
  if (value === null || typeof value === 'number' || typeof value === 'boolean') return String(value);
  return Array.isArray(value) ? 'a list' : `a value of type ${typeof value}`;
}

/** Whether `text` is written as a `/pattern/` (or `/pattern/i`) literal. */
export function isRegexLiteral(text: unknown): boolean {
  return typeof text === 'string' && text.length >= 2 && text.startsWith('/') && (text.endsWith('/') || text.endsWith('/i')) && text !== '/i';
}

/** The source and flags of a `/pattern/` or `/pattern/i` literal, or undefined when `text` is not one. */
export function parseRegexLiteral(text: string): { source: string; flags: string } | undefined {
  if (!isRegexLiteral(text)) return undefined;
  const flags = text.endsWith('/i') ? 'i' : '';
  return { source: text.slice(1, flags ? -2 : -1), flags };
}

/**
 * Compiles `/pattern/` or `/pattern/i` (or, with `bare`, an undelimited pattern) for the linear-time engine
 * with `compile` (compileLinearRegex unless a caller budgets several patterns). Throws FilterSyntaxError naming
 * `what` when the text is not a regex literal (and `bare` is not set) or the pattern is refused.
 */
export function compilePattern(text: string, what: string, bare = false, compile: RegexCompiler = compileLinearRegex): LinearRegex {
  const literal = parseRegexLiteral(text);
  if (literal) return compile(literal.source, literal.flags, what);
  if (!bare) throw new FilterSyntaxError(`${what}: expected a /regular expression/, got ${quoteForMessage(text)}`);
  return compile(text, '', what);
}

/**
 * A matcher for identity, class and agent filter entries: `/pattern/` matches by regex,
 * anything else by exact string equality.
 */
export function nameMatcher(entry: string, what: string, compile: RegexCompiler = compileLinearRegex): (name: string) => boolean {
  if (isRegexLiteral(entry)) {
    const pattern = compilePattern(entry, what, false, compile);
    return (name) => pattern.test(name);
  }
  return (name) => name === entry;
}
