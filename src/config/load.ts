/**
 * Building a Config: read a cfg or YAML file (or in-memory settings), apply environment
 * overrides, validate everything against the registered schemas, and either return the frozen
 * Config (with its warnings) or throw one ConfigError listing every problem.
 */
import { readFileSync } from 'node:fs';
import { ConfigError } from '../errors.js';
import type { Counters, Logger } from '../inter/logger.js';
import { parseCfg } from './cfg-format.js';
import { Config, type Setting } from './config.js';
import { coreCrossChecks } from './core-schema.js';
import { KEY_PATTERN, type ParsedSource } from './entries.js';
import { fullKey, registeredSchemas } from './schema-registry.js';
import { validateSettings } from './validate.js';
import { parseYamlSettings } from './yaml-format.js';

/** The environment overrides are read from; defaults to process.env. */
export type Environment = Record<string, string | undefined>;

/** Options every loader accepts. */
export interface LoadOptions {
  /** Where `env` overrides (SettingSpec.env) are read from; process.env when absent. */
  env?: Environment;
  /** When given, each warning is logged at warn and each problem at error. */
  logger?: Logger;
  /** When given, `config.warnings` and `config.problems` count what was found. */
  counters?: Counters;
}

/** Options of parseConfig. */
export interface ParseOptions extends LoadOptions {
  /** The file name used in messages (`client.cfg:7: ...`). */
  source: string;
  /** The text's format; inferred from `source` (.yaml/.yml) when absent, cfg otherwise. */
  format?: 'cfg' | 'yaml';
}

/** Options of configFromObject. */
export interface ObjectOptions extends LoadOptions {
  /** The origin reported for every setting; "(memory)" when absent. */
  source?: string;
}

function formatOf(source: string): 'cfg' | 'yaml' {
  return /\.ya?ml$/i.test(source) ? 'yaml' : 'cfg';
}

/** Reads and validates the configuration file at `path`; throws ConfigError listing every problem. */
export function loadConfig(path: string, options: LoadOptions = {}): Config {
  if (typeof path !== 'string' || path === '') {
    return fail([`loadConfig: path must be a non-empty string, got ${JSON.stringify(path)}`], options);
  }
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    return fail([`${path}: cannot read configuration: ${(error as Error).message}`], options, error);
  }
  return parseConfig(text, { ...options, source: path });
}

/** Parses and validates configuration text; throws ConfigError listing every problem. */
export function parseConfig(text: string, options: ParseOptions): Config {
  const source = options?.source;
  const argumentProblems: string[] = [];
  if (typeof source !== 'string' || source === '') argumentProblems.push(`parseConfig: options.source must be a non-empty string, got ${JSON.stringify(source)}`);
  if (typeof text !== 'string') argumentProblems.push(`parseConfig: text must be a string, got ${describe(text)}`);
  if (options?.format !== undefined && options.format !== 'cfg' && options.format !== 'yaml') {
    argumentProblems.push(`parseConfig: options.format must be "cfg" or "yaml", got ${JSON.stringify(options.format)}`);
  }
  if (argumentProblems.length > 0) return fail(argumentProblems, options ?? {});
  const format = options.format ?? formatOf(source);
  const parsed = format === 'yaml' ? parseYamlSettings(text, source) : parseCfg(text, source);
  return build(source, parsed, options);
}

/** Builds a Config from in-memory settings (tests, demos); validated like a file. */
export function configFromObject(settings: Record<string, string | number | boolean | string[]>, options: ObjectOptions = {}): Config {
  const source = options.source ?? '(memory)';
  if (typeof settings !== 'object' || settings === null || Array.isArray(settings)) {
    return fail([`configFromObject: settings must be an object of key -> value, got ${describe(settings)}`], options);
  }
  const parsed: ParsedSource = { entries: [], problems: [] };
  for (const [key, value] of Object.entries(settings)) {
    if (!KEY_PATTERN.test(key)) {
      parsed.problems.push(`${source}: ${JSON.stringify(key)} is not a valid key (dotted words of letters, digits, "_" and "-")`);
    } else if (Array.isArray(value) && value.every((item) => typeof item === 'string')) {
      parsed.entries.push({ key, value: [...value] });
    } else if (typeof value === 'string' || typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value))) {
      parsed.entries.push({ key, value: String(value) });
    } else {
      parsed.problems.push(`${source}: ${key}: expected a string, finite number, boolean or list of strings, got ${describe(value)}`);
    }
  }
  return build(source, parsed, options);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list with non-string items';
  return typeof value === 'number' ? String(value) : typeof value;
}

function build(source: string, parsed: ParsedSource, options: LoadOptions): Config {
  const settings = new Map<string, Setting>();
  const lines = new Map<string, number>();
  const warnings: string[] = [];
  for (const entry of parsed.entries) {
    const origin = entry.line === undefined ? source : `${source}:${entry.line}`;
    const earlier = lines.get(entry.key);
    if (earlier !== undefined && entry.line !== undefined) {
      warnings.push(`${origin}: ${entry.key}: also set at line ${earlier}; the later value (line ${entry.line}) wins`);
    }
    // Re-inserting keeps the map in the order the values take effect.
    settings.delete(entry.key);
    settings.set(entry.key, { value: entry.value, origin });
    if (entry.line !== undefined) lines.set(entry.key, entry.line);
  }
  applyEnvironment(settings, options.env ?? process.env);
  const validation = validateSettings(settings);
  const problems = [...parsed.problems, ...validation.problems];
  warnings.push(...validation.warnings);
  const config = new Config(source, settings, warnings);
  problems.push(...crossChecks(config));
  if (problems.length > 0) {
    // Without the invalid settings (their defaults apply), later stages can still check everything else.
    const valid = new Map([...settings].filter(([key]) => !validation.invalidKeys.includes(key)));
    return fail(problems, options, undefined, { warnings, partial: new Config(source, valid, warnings) });
  }
  for (const warning of warnings) options.logger?.warn({ source }, `configuration warning: ${warning}`);
  options.counters?.increment('config.warnings', warnings.length);
  return config;
}

/** Checks spanning several keys; skipped when one of them is itself invalid (already reported). */
function crossChecks(config: Config): string[] {
  try {
    return coreCrossChecks(config);
  } catch (error) {
    if (error instanceof ConfigError) return [];
    throw error;
  }
}

/** Environment variables named by SettingSpec.env override the file; an empty value counts as unset. */
function applyEnvironment(settings: Map<string, Setting>, env: Environment): void {
  for (const schema of registeredSchemas()) {
    for (const [key, spec] of Object.entries(schema.keys)) {
      if (spec.env === undefined) continue;
      const value = env[spec.env];
      if (value === undefined || value === '') continue;
      const name = fullKey(schema.namespace, key);
      settings.delete(name);
      settings.set(name, { value, origin: `env ${spec.env}` });
    }
  }
}

function fail(problems: string[], options: LoadOptions, cause?: unknown, extra: { warnings?: string[]; partial?: Config } = {}): never {
  for (const problem of problems) options.logger?.error({ problem }, `configuration problem: ${problem}`);
  options.counters?.increment('config.problems', problems.length);
  throw new ConfigError(problems, { ...(cause === undefined ? {} : { cause }), ...extra });
}
