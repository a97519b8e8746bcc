/**
 * Writes Ruby values as YAML the way Ruby's `YAML.dump` (Psych 4 over libyaml 0.2) writes them: `---` first, Symbol
 * keys as plain `:name`, strings quoted exactly when Psych would quote them, multi-line strings (base64, PEM) as
 * `|` block literals, empty Arrays and Hashes as `[]` and `{}`, sequences inside mappings not indented, long lines
 * folded after column 80. The output is byte for byte what Ruby writes for the same value (checked against Ruby; the one
 * exception is U+2028/U+2029, see isPrintable),
 * so Ruby reads back exactly the value that was meant: a String never turns into a Symbol, a number or a boolean.
 * Psych's choice of style comes first (visit_String), then libyaml's rules for what each style can carry.
 */
import { InvalidArgumentError } from '../../../../src/errors.js';
import { readsBackAsString } from './psych-scalar.js';
import { RubyHash, RubySymbol, hasLoneSurrogate, type RubyValue } from './ruby-values.js';

const BEST_INDENT = 2;
const BEST_WIDTH = 80;
const MAX_SIMPLE_KEY = 128;

type Style = 'plain' | 'single' | 'double' | 'literal';

/** A scalar as Psych hands it to libyaml. */
interface Scalar {
  value: string;
  tag: string | null;
  plainImplicit: boolean;
  quotedImplicit: boolean;
  style: Style | 'any';
}

const isBreak = (c: string): boolean => c === '\n' || c === '\r' || c === '\u0085' || c === '\u2028' || c === '\u2029';
const isBlankOrEnd = (c: string | undefined): boolean => c === undefined || c === ' ' || c === '\t' || isBreak(c);

/**
 * libyaml's printable set, less U+2028 and U+2029: libyaml writes those raw in literal and single-quoted scalars,
 * where YAML 1.1 (Ruby) reads them as line breaks and YAML 1.2 (js-yaml) as ordinary characters. Escaped (`\L`,
 * `\P`) in double quotes they read back the same everywhere; the only place this writer differs from Psych.
 */
function isPrintable(c: string): boolean {
  const cp = c.codePointAt(0)!;
  if (cp === 0x2028 || cp === 0x2029) return false;
  return cp === 0x0a || (cp >= 0x20 && cp <= 0x7e) || (cp >= 0xa0 && cp <= 0xd7ff) || (cp >= 0xe000 && cp <= 0xfffd && cp !== 0xfeff);
}

/** What libyaml's analysis of a scalar allows. */
interface Analysis { multiline: boolean; blockPlain: boolean; single: boolean; block: boolean }

function analyze(value: string): Analysis {
  if (value === '') return { multiline: false, blockPlain: true, single: true, block: false };
  const chars = Array.from(value);
  let blockIndicators = /^(?:---|\.\.\.)/.test(value);
  let lineBreaks = false, special = false;
  let leadingSpace = false, leadingBreak = false, trailingSpace = false, trailingBreak = false, breakSpace = false, spaceBreak = false;
  let previousSpace = false, previousBreak = false, precededByWhitespace = true;
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i]!;
    const followedByWhitespace = isBlankOrEnd(chars[i + 1]);
    if (i === 0) {
      if ('#,[]{}&*!|>\'"%@`'.includes(c)) blockIndicators = true;
      if ((c === '?' || c === ':' || c === '-') && followedByWhitespace) blockIndicators = true;
    } else {
      if (c === ':' && followedByWhitespace) blockIndicators = true;
      if (c === '#' && precededByWhitespace) blockIndicators = true;
    }
    if (!isPrintable(c)) special = true;
    if (isBreak(c)) lineBreaks = true;
    const last = i === chars.length - 1;
    if (c === ' ') {
      leadingSpace ||= i === 0;
      trailingSpace ||= last;
      breakSpace ||= previousBreak;
      previousSpace = true;
      previousBreak = false;
    } else if (isBreak(c)) {
      leadingBreak ||= i === 0;
      trailingBreak ||= last;
      spaceBreak ||= previousSpace;
      previousSpace = false;
      previousBreak = true;
    } else {
      previousSpace = previousBreak = false;
    }
    precededByWhitespace = isBlankOrEnd(c);
  }
  const blockPlain = !(leadingSpace || leadingBreak || trailingSpace || trailingBreak || breakSpace || spaceBreak || special || lineBreaks || blockIndicators);
  const single = !(breakSpace || spaceBreak || special);
  const block = !(trailingSpace || spaceBreak || special);
  return { multiline: lineBreaks, blockPlain, single, block };
}

/** Psych's visit_String: the style it asks for. */
function stringScalar(text: string): Scalar {
  let style: Style | 'any' = 'plain';
  let tag: string | null = null;
  let implicit = true;
  if (/\n(?!\n?$)/.test(text)) style = 'literal';
  else if (text === '<<') { style = 'single'; tag = 'tag:yaml.org,2002:str'; implicit = false; }
  else if (text === 'y' || text === 'n') style = 'double';
  // Ruby anchors ^ and $ at every line (the `m` flag keeps that).
  else if (/^[^\p{L}\p{M}\p{Nd}\p{Pc}][^"]*$/mu.test(text)) style = 'double';
  else if (!readsBackAsString(text) || /^0[0-7]*[89]/.test(text)) style = 'single';
  return { value: text, tag, plainImplicit: implicit, quotedImplicit: implicit, style };
}

/** Ruby's Float#to_s for a non-integral or non-finite number. */
function rubyFloat(x: number): string {
  if (Number.isNaN(x)) return '.nan';
  if (!Number.isFinite(x)) return x > 0 ? '.inf' : '-.inf';
  const [mantissa, exponent] = Math.abs(x).toExponential().split('e') as [string, string];
  const digits = mantissa.replace('.', '');
  const decpt = Number(exponent) + 1;
  const sign = x < 0 ? '-' : '';
  if (decpt > 16 || decpt < -3) {
    const e = decpt - 1;
    return `${sign}${digits[0]}.${digits.length > 1 ? digits.slice(1) : '0'}e${e < 0 ? '-' : '+'}${String(Math.abs(e)).padStart(2, '0')}`;
  }
  if (decpt <= 0) return `${sign}0.${'0'.repeat(-decpt)}${digits}`;
  if (digits.length <= decpt) return `${sign}${digits}${'0'.repeat(decpt - digits.length)}.0`;
  return `${sign}${digits.slice(0, decpt)}.${digits.slice(decpt)}`;
}

function scalarFor(value: RubyValue): Scalar | null {
  const plain = (text: string): Scalar => ({ value: text, tag: null, plainImplicit: true, quotedImplicit: false, style: 'any' });
  if (value === null) return plain('');
  if (value === true || value === false || typeof value === 'bigint') return plain(String(value));
  if (typeof value === 'number') return plain(Number.isInteger(value) ? BigInt(value).toString() : rubyFloat(value));
  if (value instanceof RubySymbol) {
    return value.name === '' ? { value: '', tag: '!ruby/symbol', plainImplicit: false, quotedImplicit: false, style: 'any' } : plain(`:${value.name}`);
  }
  if (typeof value === 'string') return stringScalar(value);
  if (value instanceof Uint8Array) {
    // Psych writes ASCII-only binary strings as ordinary strings, the others base64 under !binary.
    if (value.every((b) => b < 0x80)) return stringScalar(Buffer.from(value).toString('latin1'));
    return { value: Buffer.from(value).toString('base64'), tag: '!binary', plainImplicit: false, quotedImplicit: false, style: 'literal' };
  }
  return null;
}

/** Writes tag text as libyaml shortens it: `!!` for the YAML namespace. */
function tagText(tag: string): string {
  return tag.startsWith('tag:yaml.org,2002:') ? `!!${tag.slice('tag:yaml.org,2002:'.length)}` : tag;
}

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
