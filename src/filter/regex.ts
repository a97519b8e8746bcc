/**
 * `/pattern/` literals as MCollective filters write them. Patterns arrive from the network, so
 * their length is bounded and compile errors become FilterSyntaxError rather than SyntaxError.
 */
import { FilterSyntaxError } from '../errors.js';

/** The longest pattern accepted from a filter (bounds the cost of a hostile pattern). */
export const MAX_PATTERN_LENGTH = 256;

/** Whether `text` is written as a `/pattern/` (or `/pattern/i`) literal. */
export function isRegexLiteral(text: string): boolean {
  return text.length >= 2 && text.startsWith('/') && (text.endsWith('/') || text.endsWith('/i')) && text !== '/i';
}

/**
 * Compiles `/pattern/` or `/pattern/i` (or, with `bare`, an undelimited pattern) into a RegExp.
 * Throws FilterSyntaxError naming `what` when the pattern is too long or does not compile.
 */
export function compilePattern(text: string, what: string, bare = false): RegExp {
  let source = text;
  let flags = '';
  if (isRegexLiteral(text)) {
    flags = text.endsWith('/i') ? 'i' : '';
    source = text.slice(1, flags ? -2 : -1);
  } else if (!bare) {
    throw new FilterSyntaxError(`${what}: expected a /regular expression/, got ${JSON.stringify(text)}`);
  }
  if (source.length === 0) throw new FilterSyntaxError(`${what}: empty regular expression`);
  if (source.length > MAX_PATTERN_LENGTH) {
    throw new FilterSyntaxError(`${what}: regular expression longer than ${MAX_PATTERN_LENGTH} characters`);
  }
  try {
    return new RegExp(source, flags);
  } catch (error) {
    throw new FilterSyntaxError(`${what}: invalid regular expression ${JSON.stringify(text)}: ${(error as Error).message}`, { cause: error });
  }
}

/**
 * A matcher for identity, class and agent filter entries: `/pattern/` matches by regex,
 * anything else by exact string equality.
 */
export function nameMatcher(entry: string, what: string): (name: string) => boolean {
  if (isRegexLiteral(entry)) {
    const pattern = compilePattern(entry, what);
    return (name) => pattern.test(name);
  }
  return (name) => name === entry;
}
