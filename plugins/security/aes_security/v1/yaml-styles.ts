/**
 * How Ruby's YAML.dump chooses the form of each scalar: Psych's visit_String picks a style, libyaml's analysis of the
 * text says which styles can carry it (yaml-emit.ts writes them). Also the text Psych gives numbers, Symbols, nil
 * and binary Strings.
 */
import { readsBackAsString } from './psych-scalar.js';
import { RubySymbol, type RubyValue } from './ruby-values.js';

/** The scalar styles this writer uses (never folded `>`: Psych asks for it only with a line width set). */
export type Style = 'plain' | 'single' | 'double' | 'literal';

/** A scalar as Psych hands it to libyaml. */
export interface Scalar {
  value: string;
  tag: string | null;
  plainImplicit: boolean;
  quotedImplicit: boolean;
  style: Style | 'any';
}

/** libyaml's line breaks: LF, CR, NEL, LS, PS. */
export const isBreak = (c: string): boolean => c === '\n' || c === '\r' || c === '\u0085' || c === '\u2028' || c === '\u2029';
const isBlankOrEnd = (c: string | undefined): boolean => c === undefined || c === ' ' || c === '\t' || isBreak(c);

/**
 * libyaml's printable set, less U+2028 and U+2029: libyaml writes those raw in literal and single-quoted scalars,
 * where YAML 1.1 (Ruby) reads them as line breaks and YAML 1.2 (js-yaml) as ordinary characters. Escaped (`\L`,
 * `\P`) in double quotes they read back the same everywhere; the only place this writer differs from Psych.
 */
export function isPrintable(c: string): boolean {
  const cp = c.codePointAt(0)!;
  if (cp === 0x2028 || cp === 0x2029) return false;
  return cp === 0x0a || (cp >= 0x20 && cp <= 0x7e) || (cp >= 0xa0 && cp <= 0xd7ff) || (cp >= 0xe000 && cp <= 0xfffd && cp !== 0xfeff);
}

/** What libyaml's analysis of a scalar allows. */
export interface Analysis { multiline: boolean; blockPlain: boolean; single: boolean; block: boolean }

/** libyaml's analysis of a scalar's text: which styles may carry it. */
export function analyze(value: string): Analysis {
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

/** The scalar Psych emits for `value`, or null for an Array or Hash. */
export function scalarFor(value: RubyValue): Scalar | null {
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
export function tagText(tag: string): string {
  return tag.startsWith('tag:yaml.org,2002:') ? `!!${tag.slice('tag:yaml.org,2002:'.length)}` : tag;
}
