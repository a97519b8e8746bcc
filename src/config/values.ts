/**
 * Parsing of setting values. Values arrive as text (cfg files, environment, YAML scalars) or as
 * lists of text (YAML sequences); the schema's type says how to read them.
 */
import type { SettingSpec, SettingType } from '../inter/config.js';

/** A value as written: text, or the items of a YAML sequence. */
export type RawValue = string | readonly string[];

const TRUE_WORDS = new Set(['1', 'true', 'yes', 'y', 'on']);
const FALSE_WORDS = new Set(['0', 'false', 'no', 'n', 'off']);
const INTEGER = /^[+-]?\d+$/;
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** Boolean spellings, for messages and documentation. */
export const BOOLEAN_SPELLINGS = '0/1/true/false/yes/no';

/** The result of reading a value: the typed value, or what is wrong with it. */
export type Parsed<T> = { ok: true; value: T } | { ok: false; problem: string };

function quoted(raw: RawValue): string {
  return typeof raw === 'string' ? JSON.stringify(raw) : 'a list';
}

function expected(what: string, raw: RawValue): { ok: false; problem: string } {
  return { ok: false, problem: `expected ${what}, got ${quoted(raw)}` };
}

/** Reads a boolean: 0/1/true/false/yes/no/y/n/on/off, case-insensitive. */
export function parseBoolean(raw: RawValue): Parsed<boolean> {
  if (typeof raw === 'string') {
    const word = raw.trim().toLowerCase();
    if (TRUE_WORDS.has(word)) return { ok: true, value: true };
    if (FALSE_WORDS.has(word)) return { ok: true, value: false };
  }
  return expected(`a boolean (${BOOLEAN_SPELLINGS})`, raw);
}

function inRange(value: number, spec: Pick<SettingSpec, 'min' | 'max'> | undefined, raw: RawValue): Parsed<number> {
  if (spec?.min !== undefined && value < spec.min) return { ok: false, problem: `must be at least ${spec.min}, got ${quoted(raw)}` };
  if (spec?.max !== undefined && value > spec.max) return { ok: false, problem: `must be at most ${spec.max}, got ${quoted(raw)}` };
  return { ok: true, value };
}

/** Reads a decimal integer within the spec's bounds. */
export function parseInteger(raw: RawValue, spec?: Pick<SettingSpec, 'min' | 'max'>): Parsed<number> {
  if (typeof raw !== 'string' || !INTEGER.test(raw.trim())) return expected('an integer', raw);
  const value = Number(raw.trim());
  if (!Number.isSafeInteger(value)) return { ok: false, problem: `integer ${quoted(raw)} is too large` };
  return inRange(value, spec, raw);
}

/** Reads a finite decimal number within the spec's bounds. */
export function parseNumber(raw: RawValue, spec?: Pick<SettingSpec, 'min' | 'max'>): Parsed<number> {
  if (typeof raw !== 'string' || !DECIMAL.test(raw.trim())) return expected('a number', raw);
  const value = Number(raw.trim());
  if (!Number.isFinite(value)) return { ok: false, problem: `number ${quoted(raw)} is out of range` };
  return inRange(value, spec, raw);
}

/**
 * Reads a list: a YAML sequence as is, or text split on commas and colons (MCollective splits
 * `collectives` on commas and `libdir` on the path separator). Items are trimmed; empty ones dropped.
 */
export function parseList(raw: RawValue): Parsed<string[]> {
  const items = typeof raw === 'string' ? raw.split(/[,:]/) : [...raw];
  return { ok: true, value: items.map((item) => item.trim()).filter((item) => item !== '') };
}

/** Reads a string (a list is refused: the key wants one value). */
export function parseString(raw: RawValue): Parsed<string> {
  if (typeof raw !== 'string') return expected('a single value', raw);
  return { ok: true, value: raw };
}

function parsePath(raw: RawValue): Parsed<string> {
  if (typeof raw !== 'string') return expected('a path', raw);
  if (raw.trim() === '') return expected('a path', raw);
  if (raw.includes('\0')) return { ok: false, problem: 'a path cannot contain a NUL character' };
  return { ok: true, value: raw.trim() };
}

function parseEnum(raw: RawValue, values: readonly string[]): Parsed<string> {
  if (typeof raw === 'string' && values.includes(raw.trim())) return { ok: true, value: raw.trim() };
  return expected(`one of ${values.join(', ')}`, raw);
}

/** Reads `raw` as `type`, applying the spec's bounds and allowed values. */
export function parseAs(type: SettingType, raw: RawValue, spec?: SettingSpec): Parsed<string | number | boolean | string[]> {
  switch (type) {
    case 'boolean':
      return parseBoolean(raw);
    case 'integer':
      return parseInteger(raw, spec);
    case 'number':
      return parseNumber(raw, spec);
    case 'list':
      return parseList(raw);
    case 'path':
      return parsePath(raw);
    case 'enum':
      return parseEnum(raw, spec?.values ?? []);
    case 'string':
      return parseString(raw);
  }
}

/** What is wrong with `raw` for `spec`, or undefined when it is valid. */
export function checkSettingValue(spec: SettingSpec, raw: RawValue): string | undefined {
  const parsed = parseAs(spec.type, raw, spec);
  return parsed.ok ? undefined : parsed.problem;
}

/** Renders a value (a default, or a YAML sequence) as the text `raw()` returns. */
export function renderValue(value: string | number | boolean | readonly string[]): string {
  return Array.isArray(value) ? value.join(',') : String(value);
}
