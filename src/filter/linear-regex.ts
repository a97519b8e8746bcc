/**
 * Regular expressions from input (request filters, policies, command lines, store queries), compiled for a
 * linear-time engine. Filter regexes arrive from the network and run before authorization, so a backtracking
 * engine would let one request freeze a node (`/^((.*)*)*x$/` takes seconds per identity with RegExp). RE2
 * (re2js) matches in time proportional to pattern size times input length, whatever the pattern.
 *
 * Patterns are written in JavaScript RegExp syntax, as before: re2js translates the JavaScript-only spellings
 * (`\uXXXX`, `\cX`, `[^]`, `(?<name>...)`). Constructs that need backtracking (backreferences, lookahead,
 * lookbehind) have no linear-time equivalent and are refused, naming the construct.
 */
import type { RE2JS } from 're2js';
import { FilterSyntaxError } from '../errors.js';
import { re2js } from '../util/lazy-require.js';

/** The longest pattern accepted (bounds parsing and compiling a hostile pattern). */
export const MAX_PATTERN_LENGTH = 256;

/**
 * The most RE2 program instructions a pattern may compile to. Matching is linear in the input, but the
 * automaton's set-up grows faster than linearly with the program (measured: about 1 ms at 64 instructions,
 * 10-25 ms at 256 with large Unicode classes); counted repetitions (`x{1000}`) are what make programs big.
 * Any pattern within MAX_PATTERN_LENGTH without counted repetitions fits (a 256-character literal is 258);
 * honest patterns use tens (`^[a-z0-9-]{1,63}$` is 129).
 */
export const MAX_PROGRAM_SIZE = 300;

/**
 * The most character ranges a pattern's classes may hold in its compiled program. Setting up the automaton
 * scans every range of every instruction once per compiled pattern, so a repeated large class
 * (`(?i)[\p{L}\p{N}]{10}` holds 7,790) costs milliseconds before the first character is matched. One Unicode
 * property class such as `\pL` holds about 700.
 */
export const MAX_CLASS_RANGES = 4096;

/** The flags a pattern may carry: `i` (case-insensitive), as MCollective's `/regex/i`. */
export const REGEX_FLAGS = ['i'] as const;

/** A compiled linear-time regular expression. */
export interface LinearRegex {
  /** The pattern as written (JavaScript RegExp syntax). */
  readonly source: string;
  /** The flags as written (`''` or `'i'`). */
  readonly flags: string;
  /** RE2 program instructions (at most MAX_PROGRAM_SIZE): what a caller budgets several patterns by. */
  readonly programSize: number;
  /** Character ranges in the program's classes (at most MAX_CLASS_RANGES): the other budget. */
  readonly classRanges: number;
  /** Whether the pattern matches anywhere in `text` (as RegExp.prototype.test, without state). */
  test(text: string): boolean;
}

/** Compiles one pattern for the linear-time engine: compileLinearRegex, or a wrapper that budgets several. */
export type RegexCompiler = (source: string, flags: string, where: string) => LinearRegex;

// Longest prefixes first: "(?<=" must not be read as a named group "(?<".
const BACKTRACKING_GROUPS: readonly (readonly [string, string])[] = [
  ['(?<=', 'a lookbehind "(?<=...)"'],
  ['(?<!', 'a negative lookbehind "(?<!...)"'],
  ['(?=', 'a lookahead "(?=...)"'],
  ['(?!', 'a negative lookahead "(?!...)"'],
];

/**
 * The first construct in `source` that only a backtracking engine can run, described for an error message,
 * or undefined. Escapes and character classes are skipped as JavaScript reads them (`[\1]` is not a
 * backreference, `[]` and `[^]` close at once).
 */
export function backtrackingConstruct(source: string): string | undefined {
  let inClass = false;
  for (let i = 0; i < source.length; i++) {
    const ch = source[i];
    if (ch === '\\') {
      const next = source[i + 1] ?? '';
      if (!inClass && next >= '1' && next <= '9') return `a backreference "\\${/^\d+/.exec(source.slice(i + 1))![0]}"`;
      if (!inClass && next === 'k' && source[i + 2] === '<') return 'a named backreference "\\k<...>"';
      i++;
    } else if (inClass) {
      if (ch === ']') inClass = false;
    } else if (ch === '[') {
      const close = source[i + 1] === '^' ? i + 2 : i + 1;
      if (source[close] === ']') i = close;
      else inClass = true;
    } else if (ch === '(' && source[i + 1] === '?') {
      const found = BACKTRACKING_GROUPS.find(([prefix]) => source.startsWith(prefix, i));
      if (found) return found[1];
    }
  }
  return undefined;
}

/** How a pattern is shown in messages: `/source/flags`, shortened when long. */
function display(source: string, flags: string): string {
  const shown = source.length > 64 ? `${source.slice(0, 64)}...` : source;
  return JSON.stringify(`/${shown}/${flags}`);
}

/**
 * Compiles `source` (JavaScript RegExp syntax, without delimiters) with `flags` (`''` or `'i'`) for the
 * linear-time engine. This is the one way patterns from input are compiled. Throws FilterSyntaxError naming
 * `where` and the pattern when it is empty, longer than MAX_PATTERN_LENGTH, uses an unknown flag or a
 * construct that needs backtracking (backreference, lookaround), does not parse, or compiles to more than
 * MAX_PROGRAM_SIZE instructions. The checks are in that order, so refusing a pattern costs at most its length.
 */
export function compileLinearRegex(source: string, flags: string, where: string): LinearRegex {
  if (typeof source !== 'string' || typeof flags !== 'string') throw new FilterSyntaxError(`${where}: a regular expression and its flags must be strings`);
  if (source.length === 0) throw new FilterSyntaxError(`${where}: empty regular expression`);
  if (source.length > MAX_PATTERN_LENGTH) {
    throw new FilterSyntaxError(`${where}: regular expression longer than ${MAX_PATTERN_LENGTH} characters (${source.length})`);
  }
  const unknownFlag = [...flags].find((flag) => !(REGEX_FLAGS as readonly string[]).includes(flag));
  if (unknownFlag !== undefined || new Set(flags).size !== flags.length) {
    throw new FilterSyntaxError(`${where}: regular expression ${display(source, flags)}: flags may only be ${REGEX_FLAGS.join(', ')}`);
  }
  const construct = backtrackingConstruct(source);
  if (construct !== undefined) {
    throw new FilterSyntaxError(`${where}: regular expression ${display(source, flags)} uses ${construct}, which the linear-time regex engine (RE2 syntax) does not support`);
  }
  let compiled: RE2JS;
  try {
    const engine = re2js();
    compiled = engine.compile(engine.translateRegExp(source), flags.includes('i') ? engine.CASE_INSENSITIVE : 0);
  } catch (error) {
    const reason = (error as Error).message.replace(/^error parsing regexp: /, '');
    throw new FilterSyntaxError(`${where}: invalid regular expression ${display(source, flags)}: ${reason}`, { cause: error });
  }
  const size = compiled.programSize();
  if (size > MAX_PROGRAM_SIZE) {
    throw new FilterSyntaxError(`${where}: regular expression ${display(source, flags)} is too complex (${size} instructions, at most ${MAX_PROGRAM_SIZE}; use smaller repetition counts)`);
  }
  const ranges = classRanges(compiled);
  if (ranges > MAX_CLASS_RANGES) {
    throw new FilterSyntaxError(`${where}: regular expression ${display(source, flags)} is too complex (${ranges} character ranges, at most ${MAX_CLASS_RANGES}; repeat large classes such as \\pL less)`);
  }
  return Object.freeze({ source, flags, programSize: size, classRanges: ranges, test: (text: string) => compiled.test(text) });
}

/** One instruction of re2js's compiled program, as far as the range count reads it. */
interface ProgramInstruction {
  runes?: ArrayLike<number>;
}

/**
 * The character ranges in a compiled program: its instructions' rune lists hold `lo, hi` pairs (a single rune
 * counts as one). re2js's public types leave the program untyped (`re2().prog: any`), so this reads it
 * defensively; a test pins the counts, so a change in re2js's layout fails the build's tests, not this bound.
 */
function classRanges(compiled: RE2JS): number {
  const instructions = (compiled.re2().prog as { inst?: readonly ProgramInstruction[] } | undefined)?.inst ?? [];
  return instructions.reduce((sum, instruction) => sum + Math.ceil((instruction.runes?.length ?? 0) / 2), 0);
}
