/**
 * Reading a setting with a fallback while collecting problems, for code that checks several settings and
 * reports every problem at once (the daemon's and the client's settings). Problems read like the loader's:
 * `file:line: key: what is wrong`.
 */
import type { ConfigView } from '../inter/config.js';
import { parseBoolean, parseInteger, parseNumber, type Parsed } from './values.js';

function read<T>(config: ConfigView, key: string, fallback: T, parse: (raw: string) => Parsed<T>, problems: string[]): T {
  const raw = config.raw(key);
  if (raw === undefined || raw.trim() === '') return fallback;
  const parsed = parse(raw);
  if (parsed.ok) return parsed.value;
  problems.push(`${config.origin(key)}: ${key}: ${parsed.problem}`);
  return fallback;
}

/** `key` as a boolean (0/1/true/false/yes/no/y/n/on/off), `fallback` when unset or invalid (then a problem is recorded). */
export function checkedFlag(config: ConfigView, key: string, fallback: boolean, problems: string[]): boolean {
  return read(config, key, fallback, parseBoolean, problems);
}

/** `key` as a number >= `min` (an integer when `integer`), `fallback` when unset or invalid (then a problem is recorded). */
export function checkedNumber(config: ConfigView, key: string, fallback: number, min: number, problems: string[], integer = false): number {
  return read(config, key, fallback, (raw) => (integer ? parseInteger(raw, { min }) : parseNumber(raw, { min })), problems);
}
