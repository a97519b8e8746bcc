/**
 * Compound filters (MCollective `-S`): statements combined with `and`, `or`, `not` (or `!`)
 * and parentheses, e.g. `country=uk and (role=web or /db/) and not environment=dev`.
 *
 * Statements: `fact<op>value` or `fact('name')<op>value` (a fact filter), `/regex/` (a class
 * regex), and a bare word (a class name). Statements contain no spaces; quote a value that
 * needs them (`motd="hello world"`). `not` binds tightest, then `and`, then `or`.
 */
import { FilterSyntaxError } from '../errors.js';
import { isRegexFactFilter, readFactFilter, tryCompileFactFilter } from './fact.js';
import { compileLinearRegex, isRegexLiteral, nameMatcher, quoteForMessage, type RegexCompiler } from './regex.js';
import { isName } from '../names.js';

/** A parsed compound expression. */
export type CompoundNode =
  | { kind: 'and' | 'or'; left: CompoundNode; right: CompoundNode }
  | { kind: 'not'; operand: CompoundNode }
  | { kind: 'fact'; fact: string; operator: string; value: string }
  | { kind: 'class'; name: string };

/** What a compound expression is evaluated against. */
export interface CompoundSubject {
  facts: Readonly<Record<string, string>>;
  classes: readonly string[];
}

/** The longest expression accepted (expressions arrive from the network). */
export const MAX_COMPOUND_LENGTH = 4096;

interface Token {
  kind: '(' | ')' | 'and' | 'or' | 'not' | 'statement';
  text: string;
  at: number;
}

function tokenize(expression: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < expression.length) {
    const ch = expression[i]!;
    if (/\s/.test(ch)) { i++; continue; }
    if (ch === '(' || ch === ')') { tokens.push({ kind: ch, text: ch, at: i }); i++; continue; }
    if (ch === '!' && expression[i + 1] !== '=') { tokens.push({ kind: 'not', text: '!', at: i }); i++; continue; }
    const start = i;
    let depth = 0;
    let quote: string | undefined;
    let inRegex = false;
    while (i < expression.length) {
      const c = expression[i]!;
      if (quote) {
        if (c === quote) quote = undefined;
      } else if (inRegex) {
        if (c === '\\') i++;
        else if (c === '/') inRegex = false;
      } else if (c === '"' || c === "'") {
        quote = c;
      } else if (c === '/' && (i === start || /[=~]/.test(expression[i - 1]!))) {
        inRegex = true;
      } else if (c === '(') {
        depth++;
      } else if (c === ')') {
        if (depth === 0) break;
        depth--;
      } else if (/\s/.test(c) && depth === 0) {
        break;
      }
      i++;
    }
    if (quote) throw new FilterSyntaxError(`compound filter: unterminated ${quote} starting at offset ${start}`);
    if (inRegex) throw new FilterSyntaxError(`compound filter: unterminated /regex/ starting at offset ${start}`);
    const text = expression.slice(start, i);
    const lower = text.toLowerCase();
    const kind = lower === 'and' || lower === 'or' || lower === 'not' ? lower : 'statement';
    tokens.push({ kind, text, at: start });
  }
  return tokens;
}

const FUNCTION_FACT = /^fact\(\s*(['"])([^'"]+)\1\s*\)\s*(.+)$/s;

function parseStatement(token: Token): CompoundNode {
  const { text, at } = token;
  if (text.startsWith('/')) {
    if (!isRegexLiteral(text)) throw new FilterSyntaxError(`compound filter at offset ${at}: ${quoteForMessage(text)} is not a /regex/ or /regex/i`);
    return { kind: 'class', name: text };
  }
  const call = FUNCTION_FACT.exec(text);
  const factText = call ? `${call[2]}${call[3]}` : /[=<>!~]/.test(text) ? text : undefined;
  if (factText !== undefined) {
    try {
      const filter = readFactFilter(factText);
      return { kind: 'fact', ...filter };
    } catch (error) {
      throw new FilterSyntaxError(`compound filter at offset ${at}: ${(error as Error).message}`, { cause: error });
    }
  }
  if (!isName('className', text)) {
    throw new FilterSyntaxError(`compound filter at offset ${at}: ${quoteForMessage(text)} is neither fact<op>value, /regex/ nor a class name`);
  }
  return { kind: 'class', name: text };
}

/**
 * Parses a compound expression into a tree. Throws FilterSyntaxError naming the offset of the
 * problem (unbalanced parentheses, a dangling operator, an invalid statement). Regexes are only
 * checked for their `/.../` form here; compileCompound compiles (and so fully checks) them.
 */
export function parseCompound(expression: string): CompoundNode {
  if (typeof expression !== 'string') throw new FilterSyntaxError(`compound filter: expected a string, got ${typeof expression}`);
  if (expression.length > MAX_COMPOUND_LENGTH) throw new FilterSyntaxError(`compound filter: longer than ${MAX_COMPOUND_LENGTH} characters`);
  const tokens = tokenize(expression);
  if (tokens.length === 0) throw new FilterSyntaxError('compound filter: empty expression');
  let position = 0;
  const peek = (): Token | undefined => tokens[position];
  const describe = (token: Token | undefined): string => (token ? `${quoteForMessage(token.text)} at offset ${token.at}` : 'end of expression');

  const parseOr = (): CompoundNode => {
    let left = parseAnd();
    while (peek()?.kind === 'or') { position++; left = { kind: 'or', left, right: parseAnd() }; }
    return left;
  };
  const parseAnd = (): CompoundNode => {
    let left = parseNot();
    while (peek()?.kind === 'and') { position++; left = { kind: 'and', left, right: parseNot() }; }
    return left;
  };
  const parseNot = (): CompoundNode => {
    if (peek()?.kind === 'not') { position++; return { kind: 'not', operand: parseNot() }; }
    return parsePrimary();
  };
  const parsePrimary = (): CompoundNode => {
    const token = peek();
    if (token?.kind === '(') {
      position++;
      const inner = parseOr();
      if (peek()?.kind !== ')') throw new FilterSyntaxError(`compound filter: expected ")" to close "(" at offset ${token.at}, found ${describe(peek())}`);
      position++;
      return inner;
    }
    if (token?.kind === 'statement') { position++; return parseStatement(token); }
    throw new FilterSyntaxError(`compound filter: expected a statement, "(" or "not", found ${describe(token)}`);
  };

  const tree = parseOr();
  if (position < tokens.length) throw new FilterSyntaxError(`compound filter: unexpected ${describe(peek())}`);
  return tree;
}

/** Compiles a compound expression into a predicate; parse and regex errors are thrown here, not per node. */
export function compileCompound(expression: string): (subject: CompoundSubject) => boolean {
  return compileCompoundTree(parseCompound(expression));
}

/** How many regexes a parsed expression holds (class `/regex/` statements and regex fact comparisons). */
export function countCompoundRegexes(node: CompoundNode): number {
  switch (node.kind) {
    case 'and':
    case 'or': return countCompoundRegexes(node.left) + countCompoundRegexes(node.right);
    case 'not': return countCompoundRegexes(node.operand);
    case 'fact': return isRegexFactFilter(node) ? 1 : 0;
    case 'class': return isRegexLiteral(node.name) ? 1 : 0;
  }
}

/**
 * Compiles a parsed expression into a predicate, its regexes with `compile` (compileLinearRegex unless the
 * caller budgets several patterns); throws FilterSyntaxError for a refused regex.
 */
export function compileCompoundTree(node: CompoundNode, compile: RegexCompiler = compileLinearRegex): (subject: CompoundSubject) => boolean {
  switch (node.kind) {
    case 'and': {
      const left = compileCompoundTree(node.left, compile), right = compileCompoundTree(node.right, compile);
      return (s) => left(s) && right(s);
    }
    case 'or': {
      const left = compileCompoundTree(node.left, compile), right = compileCompoundTree(node.right, compile);
      return (s) => left(s) || right(s);
    }
    case 'not': {
      const operand = compileCompoundTree(node.operand, compile);
      return (s) => !operand(s);
    }
    case 'fact': {
      const compiled = tryCompileFactFilter({ fact: node.fact, operator: node.operator, value: node.value }, compile);
      if ('problem' in compiled) throw new FilterSyntaxError(`compound filter: ${compiled.problem}`);
      const test = compiled.test;
      return (s) => test(s.facts);
    }
    case 'class': {
      const test = nameMatcher(node.name, 'compound filter class', compile);
      return (s) => s.classes.some(test);
    }
  }
}
