/**
 * The validated, frozen configuration. Built by loadConfig / parseConfig / configFromObject
 * (src/config/load.ts), never constructed directly by plugins.
 */
import { ConfigError } from '../errors.js';
import type { ConfigView, SettingOrigin, SettingSpec, SettingType } from '../inter/config.js';
import { specFor } from './schema-registry.js';
import { parseAs, renderValue, type RawValue } from './values.js';

/** One set key: its value as written (after environment overrides) and where it came from. */
export interface Setting {
  readonly value: RawValue;
  readonly origin: SettingOrigin;
}

/**
 * A read-only view of the settings. Typed accessors follow the registered schema (defaults
 * applied); for an undeclared key they read the raw value as the accessor's type and throw
 * ConfigError naming the key when it does not parse.
 */
export class Config implements ConfigView {
  /** Non-fatal findings of the load: unknown keys (with suggestions), keys set twice. */
  readonly warnings: readonly string[];
  private readonly settings: ReadonlyMap<string, Setting>;

  /** Use loadConfig, parseConfig or configFromObject; this takes already validated settings. */
  constructor(
    readonly source: string,
    settings: ReadonlyMap<string, Setting>,
    warnings: readonly string[],
  ) {
    this.settings = new Map(settings);
    this.warnings = Object.freeze([...warnings]);
    Object.freeze(this);
  }

  raw(key: string): string | undefined {
    const setting = this.settings.get(key);
    if (setting) return renderValue(setting.value);
    const fallback = specFor(key)?.default;
    return fallback === undefined ? undefined : renderValue(fallback);
  }

  string(key: string): string | undefined {
    return this.raw(key);
  }

  boolean(key: string): boolean {
    return (this.typed(key, 'boolean') as boolean | undefined) ?? false;
  }

  integer(key: string): number {
    return this.required(key, this.typed(key, 'integer') as number | undefined);
  }

  number(key: string): number {
    return this.required(key, this.typed(key, 'number') as number | undefined);
  }

  list(key: string): string[] {
    return [...((this.typed(key, 'list') as string[] | undefined) ?? [])];
  }

  has(key: string): boolean {
    return this.settings.has(key);
  }

  origin(key: string): SettingOrigin {
    const setting = this.settings.get(key);
    if (setting) return setting.origin;
    return specFor(key)?.default === undefined ? 'unset' : 'default';
  }

  keys(prefix = ''): string[] {
    return [...this.settings.keys()].filter((key) => key.startsWith(prefix)).sort();
  }

  /** Reads `key` as `type`: the set value, else the schema default, else undefined. */
  private typed(key: string, type: SettingType): unknown {
    const spec = specFor(key);
    // Bounds and allowed values apply when the accessor agrees with the declaration.
    const rules: SettingSpec | undefined = spec && (spec.type === type || (spec.type === 'integer' && type === 'number')) ? spec : undefined;
    const setting = this.settings.get(key);
    if (setting) return this.parsed(key, type, setting.value, setting.origin, rules);
    const fallback = spec?.default;
    if (fallback === undefined) return undefined;
    if (type === 'list' && Array.isArray(fallback)) return fallback;
    if ((type === 'boolean' && typeof fallback === 'boolean') || ((type === 'integer' || type === 'number') && typeof fallback === 'number')) return fallback;
    return this.parsed(key, type, renderValue(fallback), 'default', rules);
  }

  private parsed(key: string, type: SettingType, value: RawValue, origin: SettingOrigin, rules: SettingSpec | undefined): unknown {
    const parsed = parseAs(type, value, rules);
    if (!parsed.ok) throw new ConfigError([`${origin}: ${key}: ${parsed.problem}`]);
    return parsed.value;
  }

  private required(key: string, value: number | undefined): number {
    if (value === undefined) throw new ConfigError([`${key}: not set and has no default`]);
    return value;
  }
}
