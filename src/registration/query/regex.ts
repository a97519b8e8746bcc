/**
 * `/pattern/` and `/pattern/i` literals compiled with re2js, the linear-time engine the daemon's filters use, so
 * a hostile pattern costs time proportional to the text it is tested on, never exponential. The literal rules
 * (delimiters, the `i` flag, bare patterns after `=~`, the length bound) are those of src/filter/regex.ts.
 */
import { RE2JS } from 're2js';
import { FilterSyntaxError } from '../../errors.js';
import { MAX_PATTERN_LENGTH, isRegexLiteral } from '../../filter/regex.js';

/** A compiled pattern: `test` says whether it matches anywhere in the text. */
export interface LinearPattern {
  readonly source: string;
  test(text: string): boolean;
}

/**
 * Compiles `/pattern/`, `/pattern/i` or (with `bare`) an undelimited pattern. Throws FilterSyntaxError naming
 * `what` when the pattern is empty, too long, or not valid RE2 syntax.
 */
export function compileLinear(text: string, what: string, bare = false): LinearPattern {
  let source = text;
  let flags = 0;
  if (isRegexLiteral(text)) {
    const insensitive = text.endsWith('/i');
    flags = insensitive ? RE2JS.CASE_INSENSITIVE : 0;
    source = text.slice(1, insensitive ? -2 : -1);
  } else if (!bare) {
    throw new FilterSyntaxError(`${what}: expected a /regular expression/, got ${JSON.stringify(text)}`);
  }
  if (source.length === 0) throw new FilterSyntaxError(`${what}: empty regular expression`);
  if (source.length > MAX_PATTERN_LENGTH) throw new FilterSyntaxError(`${what}: regular expression longer than ${MAX_PATTERN_LENGTH} characters`);
  let pattern: RE2JS;
  try {
    pattern = RE2JS.compile(source, flags);
  } catch (error) {
    throw new FilterSyntaxError(`${what}: invalid regular expression ${JSON.stringify(text)}: ${(error as Error).message}`, { cause: error });
  }
  return { source: text, test: (value) => pattern.test(value) };
}

/** How an identity, class or agent entry matches a name: exactly, or by a `/regex/`. */
export type NameMatch = { readonly exact: string } | { readonly pattern: LinearPattern };

/** The NameMatch of a filter entry (a `/regex/` literal, else an exact name). */
export function nameMatch(entry: string, what: string): NameMatch {
  return isRegexLiteral(entry) ? { pattern: compileLinear(entry, what) } : { exact: entry };
}
