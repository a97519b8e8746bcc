/**
 * How Ruby's Psych (4.0, Ruby 3.1) reads a plain YAML scalar: a port of `Psych::ScalarScanner#tokenize`, quirks
 * included (YAML 1.1 booleans such as `yes` and `off`, `:name` as a Symbol, `1_000` and `0x1f` as Integers, base-60
 * `1:30` as 1*3600 + 30*60). The YAML writer uses it to know which strings need quotes, the reader to give plain
 * scalars the meaning Ruby gives them. Ruby regexps anchor `^`/`$` at every line; the ports keep that with `m`.
 */
import { MalformedMessageError } from '../../../../src/errors.js';
import { RubySymbol, type RubyValue } from './ruby-values.js';

const STRINGISH = /^[^\d.:-]?[\p{Alphabetic}_ \t\r\n\f\v!@#$%^&*(){}<>|/\\~;=]+/mu;
const TIME = /^-?\d{4}-\d{1,2}-\d{1,2}(?:[Tt]|\s+)\d{1,2}:\d\d:\d\d(?:\.\d*)?(?:\s*(?:Z|[-+]\d{1,2}:?(?:\d\d)?))?$/m;
const DATE = /^\d{4}-(?:1[012]|0\d|\d)-(?:[12]\d|3[01]|0\d|\d)$/m;
const FLOAT = /^(?:[-+]?([0-9][0-9_,]*)?\.[0-9]*([eE][-+][0-9]+)?)$/m;
const INTEGER = /^(?:[-+]?0b[0-1_,]+|[-+]?0[0-7_,]+|[-+]?(?:0|[1-9](?:[0-9]|,[0-9]|_[0-9])*)|[-+]?0x[0-9a-fA-F_,]+)$/m;
const SEXAGESIMAL_INT = /^[-+]?[0-9][0-9_]*(:[0-5]?[0-9]){1,2}$/m;
const SIMPLE_SYMBOL = /^:[A-Za-z_]\w*$/;
const SIMPLE_INTEGER = /^-?(?:0|[1-9]\d{0,14})$/;
const SEXAGESIMAL_FLOAT = /^[-+]?[0-9][0-9_]*(:[0-5]?[0-9]){1,2}\.[0-9_]*$/m;

/** Ruby's `String#to_i`/`to_f` on one base-60 part: leading sign, digits and underscores, the rest ignored. */
function rubyToNumber(part: string, float: boolean): number {
  const match = (float ? /^[-+]?[\d_]*(?:\.[\d_]*)?/ : /^[-+]?[\d_]*/).exec(part)![0].replace(/_/g, '');
  const value = Number(match);
  return Number.isNaN(value) ? 0 : value;
}

/** Ruby's `Integer(text)` for the forms INTEGER admits: 0b binary, 0 octal, 0x hex, decimal. */
function rubyInteger(text: string): number | bigint {
  const negative = text.startsWith('-');
  const body = text.replace(/^[-+]/, '');
  let digits: string;
  if (/^0b/i.test(body)) digits = body;
  else if (/^0x/i.test(body)) digits = body;
  else if (/^0[0-7]+$/.test(body)) digits = `0o${body.slice(1)}`;
  else digits = body;
  if (!/^(?:0[box])?[0-9a-f]+$/i.test(digits)) throw new MalformedMessageError(`YAML: plain scalar ${JSON.stringify(text.slice(0, 40))} is not a valid Integer (Ruby refuses it too)`);
  const big = BigInt(digits);
  const value = negative ? -big : big;
  return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value;
}

function validDate(year: string, month: string, day: string): boolean {
  const y = Number(year);
  const m = Number(month);
  const d = Number(day);
  if (m < 1 || m > 12 || d < 1) return false;
  const days = new Date(Date.UTC(Math.abs(y), m, 0)).getUTCDate();
  return d <= days;
}

/**
 * The Ruby value of a plain YAML scalar, as Psych's safe_load gives it. Times and dates (which safe_load refuses
 * as disallowed classes) and integers Ruby cannot parse are refused with MalformedMessageError.
 */
export function psychTokenize(text: string): RubyValue {
  if (text === '') return null;
  // Fast paths for what MCollective messages are made of; each gives what the full scan below gives.
  if (SIMPLE_SYMBOL.test(text)) return new RubySymbol(text.slice(1));
  if (SIMPLE_INTEGER.test(text)) return Number(text);
  if (STRINGISH.test(text) || text.includes('\n')) {
    if (text.length > 5) return text;
    if (/^[^ytonf~]/im.test(text)) return text;
    if (text === '~' || /^null$/im.test(text)) return null;
    if (/^(yes|true|on)$/im.test(text)) return true;
    if (/^(no|false|off)$/im.test(text)) return false;
    return text;
  }
  if (TIME.test(text) || DATE.test(text)) {
    const [, y, m, d] = /(-?\d{4})-(\d{1,2})-(\d{1,2})/.exec(text)!;
    if (validDate(y!, m!, d!)) throw new MalformedMessageError(`YAML: plain scalar ${JSON.stringify(text.slice(0, 40))} is a date or time, which Ruby's safe_load refuses`);
    return text;
  }
  if (/^\+?\.inf$/im.test(text)) return Infinity;
  if (/^-\.inf$/im.test(text)) return -Infinity;
  if (/^\.nan$/im.test(text)) return NaN;
  if (/^:./m.test(text)) {
    const quoted = /^:(["'])(.*)\1/m.exec(text);
    return new RubySymbol(quoted ? quoted[2]!.replace(/^:/m, '') : text.replace(/^:/m, ''));
  }
  const intPattern = SEXAGESIMAL_INT.test(text);
  if (intPattern || SEXAGESIMAL_FLOAT.test(text)) {
    // Psych weights the parts 60^|index-2|, so two parts read as hours and minutes: "1:30" is 5400. Kept as is.
    return text.split(':').reduce((sum, part, index) => sum + rubyToNumber(part, !intPattern) * 60 ** Math.abs(index - 2), 0);
  }
  if (FLOAT.test(text)) {
    if (/^[-+]?\.(?=\n?$)/.test(text)) return text;
    const cleaned = text.replace(/[,_]|\.([Ee]|$)/gm, '$1');
    if (!/^[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$/.test(cleaned)) {
      throw new MalformedMessageError(`YAML: plain scalar ${JSON.stringify(text.slice(0, 40))} is not a valid Float (Ruby refuses it too)`);
    }
    return Number(cleaned);
  }
  if (INTEGER.test(text)) return rubyInteger(text.replace(/[,_]/g, ''));
  return text;
}

/** Whether Psych reads `text`, written plain, back as the same String. */
export function readsBackAsString(text: string): boolean {
  try {
    return psychTokenize(text) === text;
  } catch {
    return false;
  }
}
