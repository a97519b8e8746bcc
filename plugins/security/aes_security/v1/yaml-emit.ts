/**
 * Writes Ruby values as YAML the way Ruby's `YAML.dump` (Psych 4 over libyaml 0.2) writes them: `---` first, Symbol
 * keys as plain `:name`, strings quoted exactly when Psych would quote them, multi-line strings (base64, PEM) as
 * `|` block literals, empty Arrays and Hashes as `[]` and `{}`, sequences inside mappings not indented, long lines
 * folded after column 80. The output is byte for byte what Ruby writes for the same value (checked against Ruby; the
 * one exception is U+2028/U+2029, see yaml-styles.ts), so Ruby reads back exactly the value that was meant: a String
 * never turns into a Symbol, a number or a boolean.
 * Psych's choice of style comes first (visit_String), then libyaml's rules for what each style can carry.
 */
import { InvalidArgumentError } from '../../../../src/errors.js';
import { RubyHash, hasLoneSurrogate, type RubyValue } from './ruby-values.js';
import { analyze, isBreak, isPrintable, scalarFor, tagText, type Scalar, type Style } from './yaml-styles.js';

const BEST_INDENT = 2;
const BEST_WIDTH = 80;
const MAX_SIMPLE_KEY = 128;

class Writer {
  readonly out: string[] = [];
  column = 0;
  whitespace = true;
  indention = true;
  openEnded = false;

  put(text: string): void {
    this.out.push(text);
    let width = text.length;
    // Columns count characters: a surrogate pair is one.
    for (let i = 0; i < text.length; i++) if ((text.charCodeAt(i) & 0xfc00) === 0xdc00) width--;
    this.column += width;
  }

  newline(): void {
    this.out.push('\n');
    this.column = 0;
  }

  indent(indent: number): void {
    const at = Math.max(indent, 0);
    if (!this.indention || this.column > at || (this.column === at && !this.whitespace)) this.newline();
    if (this.column < at) this.put(' '.repeat(at - this.column));
    this.whitespace = true;
    this.indention = true;
  }

  indicator(text: string, needWhitespace: boolean, isWhitespace: boolean, isIndention: boolean): void {
    if (needWhitespace && !this.whitespace) this.put(' ');
    this.put(text);
    this.whitespace = isWhitespace;
    this.indention = this.indention && isIndention;
  }
}

const ESCAPES: Record<number, string> = {
  0x00: '0', 0x07: 'a', 0x08: 'b', 0x09: 't', 0x0a: 'n', 0x0b: 'v', 0x0c: 'f', 0x0d: 'r', 0x1b: 'e', 0x22: '"', 0x5c: '\\',
  0x85: 'N', 0xa0: '_', 0x2028: 'L', 0x2029: 'P',
};

function escape(c: string): string {
  const cp = c.codePointAt(0)!;
  const named = ESCAPES[cp];
  if (named !== undefined) return `\\${named}`;
  const hex = cp.toString(16).toUpperCase();
  if (cp <= 0xff) return `\\x${hex.padStart(2, '0')}`;
  if (cp <= 0xffff) return `\\u${hex.padStart(4, '0')}`;
  return `\\U${hex.padStart(8, '0')}`;
}

/** A line break inside a plain or quoted scalar: `\n` as a newline, the others as themselves. */
function writeBreak(w: Writer, c: string): void {
  if (c === '\n') return w.newline();
  w.out.push(c);
  w.column = 0;
}

function writeQuotedOrPlain(w: Writer, chars: string[], style: 'plain' | 'single', indent: number, allowBreaks: boolean): void {
  if (style === 'plain' && chars.length > 0 && !chars.some((c) => c === ' ' || isBreak(c))) {
    // No space to fold at and no break: the text as it is.
    if (!w.whitespace) w.put(' ');
    w.put(chars.join(''));
    w.whitespace = false;
    w.indention = false;
    return;
  }
  if (style === 'single') w.indicator("'", true, false, false);
  else if (!w.whitespace && chars.length > 0) w.put(' ');
  let spaces = false;
  let breaks = false;
  const last = chars.length - 1;
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i]!;
    if (c === ' ') {
      const inner = style === 'plain' || (i !== 0 && i !== last);
      if (allowBreaks && !spaces && w.column > BEST_WIDTH && inner && chars[i + 1] !== ' ') w.indent(indent);
      else w.put(' ');
      spaces = true;
    } else if (isBreak(c)) {
      if (!breaks && c === '\n') w.newline();
      writeBreak(w, c);
      w.indention = true;
      breaks = true;
    } else {
      if (breaks) w.indent(indent);
      w.put(style === 'single' && c === "'" ? "''" : c);
      w.indention = false;
      spaces = breaks = false;
    }
  }
  if (style === 'single') {
    if (breaks) w.indent(indent);
    w.indicator("'", false, false, false);
  }
  w.whitespace = false;
  w.indention = false;
}

function writeDoubleQuoted(w: Writer, chars: string[], indent: number, allowBreaks: boolean): void {
  w.indicator('"', true, false, false);
  let spaces = false;
  const last = chars.length - 1;
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i]!;
    if (!isPrintable(c) || isBreak(c) || c === '"' || c === '\\') {
      w.put(escape(c));
      spaces = false;
    } else if (c === ' ') {
      if (allowBreaks && !spaces && w.column > BEST_WIDTH && i !== 0 && i !== last) {
        w.indent(indent);
        if (chars[i + 1] === ' ') w.put('\\');
      } else {
        w.put(' ');
      }
      spaces = true;
    } else {
      w.put(c);
      spaces = false;
    }
  }
  w.indicator('"', false, false, false);
  w.whitespace = false;
  w.indention = false;
}

function writeLiteral(w: Writer, text: string, indent: number): void {
  w.indicator('|', true, false, false);
  const chars = Array.from(text);
  if (chars.length > 0 && (chars[0] === ' ' || isBreak(chars[0]!))) w.indicator(String(BEST_INDENT), false, false, false);
  const lastBreak = chars.length > 0 && isBreak(chars[chars.length - 1]!);
  // Only the last block scalar decides whether the document needs an explicit end (`...`).
  w.openEnded = false;
  if (!lastBreak) w.indicator('-', false, false, false);
  else if (chars.length === 1 || isBreak(chars[chars.length - 2]!)) {
    w.indicator('+', false, false, false);
    w.openEnded = true;
  }
  w.newline();
  w.indention = true;
  w.whitespace = true;
  if (!/[\r\u0085\u2028\u2029]/.test(text)) {
    // Only \n breaks (base64, PEM, most text): write whole lines.
    const lines = text.split('\n');
    lines.forEach((line, i) => {
      if (line !== '') {
        w.indent(indent);
        w.put(line);
        w.indention = false;
      }
      if (i < lines.length - 1) {
        w.newline();
        w.indention = true;
      }
    });
    return;
  }
  let breaks = true;
  for (const c of chars) {
    if (isBreak(c)) {
      writeBreak(w, c);
      w.indention = true;
      breaks = true;
    } else {
      if (breaks) w.indent(indent);
      w.put(c);
      w.indention = false;
      breaks = false;
    }
  }
}

/** Writes one scalar with libyaml's style fallbacks; `indent` is the scalar's own indentation. */
function writeScalar(w: Writer, scalar: Scalar, indent: number, simpleKey: boolean): void {
  const analysis = analyze(scalar.value);
  let tag = !scalar.plainImplicit && !scalar.quotedImplicit ? scalar.tag : null;
  const noTag = tag === null;
  let style: Style = scalar.style === 'any' ? 'plain' : scalar.style;
  if (simpleKey && analysis.multiline) style = 'double';
  if (style === 'plain' && (!analysis.blockPlain || (scalar.value === '' && simpleKey) || (noTag && !scalar.plainImplicit))) style = 'single';
  if (style === 'single' && !analysis.single) style = 'double';
  if (style === 'literal' && (!analysis.block || simpleKey)) style = 'double';
  if (noTag && !scalar.quotedImplicit && style !== 'plain') tag = '!';
  if (tag !== null) {
    if (!w.whitespace) w.put(' ');
    w.put(tagText(tag));
    w.whitespace = false;
    w.indention = false;
  }
  const allowBreaks = !simpleKey;
  if (style === 'literal') return writeLiteral(w, scalar.value, indent);
  const chars = Array.from(scalar.value);
  if (style === 'double') return writeDoubleQuoted(w, chars, indent, allowBreaks);
  return writeQuotedOrPlain(w, chars, style, indent, allowBreaks);
}

/** Whether libyaml writes `key` as a simple `key:` (one line, at most 128 bytes with its tag). */
function isSimpleKey(scalar: Scalar | null): boolean {
  if (scalar === null) return false;
  const tag = !scalar.plainImplicit && !scalar.quotedImplicit && scalar.tag !== null ? tagText(scalar.tag).length : 0;
  return !analyze(scalar.value).multiline && tag + Buffer.byteLength(scalar.value) <= MAX_SIMPLE_KEY;
}

function emitNode(w: Writer, value: RubyValue, indent: number, mappingValue: boolean, simpleKey: boolean, depth: number): void {
  if (depth > 100) throw new InvalidArgumentError('YAML: value nested deeper than 100 levels (or circular)');
  const scalar = scalarFor(value);
  if (scalar !== null) {
    if (typeof value === 'string' && hasLoneSurrogate(value)) throw new InvalidArgumentError('YAML: a string holds a lone UTF-16 surrogate, which UTF-8 cannot carry');
    return writeScalar(w, scalar, indent < 0 ? BEST_INDENT : indent + BEST_INDENT, simpleKey);
  }
  if (Array.isArray(value)) {
    if (value.length === 0) {
      w.indicator('[', true, true, false);
      return w.indicator(']', false, false, false);
    }
    const indentless = mappingValue && !w.indention;
    const at = indent < 0 ? 0 : indentless ? indent : indent + BEST_INDENT;
    for (const item of value) {
      w.indent(at);
      w.indicator('-', true, false, true);
      emitNode(w, item, at, false, false, depth + 1);
    }
    return;
  }
  if (value instanceof RubyHash) {
    if (value.size === 0) {
      w.indicator('{', true, true, false);
      return w.indicator('}', false, false, false);
    }
    const at = indent < 0 ? 0 : indent + BEST_INDENT;
    for (const [key, item] of value.entries()) {
      w.indent(at);
      if (isSimpleKey(scalarFor(key))) {
        emitNode(w, key, at, false, true, depth + 1);
        w.indicator(':', false, false, false);
      } else {
        w.indicator('?', true, false, true);
        emitNode(w, key, at, true, false, depth + 1);
        w.indent(at);
        w.indicator(':', true, false, true);
      }
      emitNode(w, item, at, true, false, depth + 1);
    }
    return;
  }
  throw new InvalidArgumentError(`YAML: ${typeof value === 'object' ? (value as object).constructor?.name ?? 'an object' : typeof value} has no Ruby equivalent`);
}

/** The YAML document Ruby's `YAML.dump(value)` writes, as UTF-8 bytes. */
export function emitYaml(value: RubyValue): Buffer {
  const w = new Writer();
  w.indicator('---', true, false, false);
  emitNode(w, value, -1, false, false, 0);
  w.indent(-1);
  if (w.openEnded) {
    w.put('...');
    w.newline();
  }
  return Buffer.from(w.out.join(''), 'utf8');
}
