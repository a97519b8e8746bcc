/**
 * Configuration contract: what plugins see of the parsed, validated, frozen configuration,
 * and how they declare the keys they own. This module imports nothing.
 */

/** Where a setting's value came from, for error messages: "client.cfg:12", "env MCOLLECTIVE_AES_PRIVATE", "default". */
export type SettingOrigin = string;

/** The type of a declared setting; values are checked against it once, at load time. */
export type SettingType = 'string' | 'boolean' | 'integer' | 'number' | 'path' | 'list' | 'enum';

/** The declaration of one configuration key. */
export interface SettingSpec {
  type: SettingType;
  /** Applied when the key is absent. */
  default?: string | number | boolean | string[];
  /** Allowed values for `enum`. */
  values?: readonly string[];
  /** Inclusive bounds for `integer` and `number`. */
  min?: number;
  max?: number;
  /** An environment variable that overrides the file's value when set (for example MCOLLECTIVE_AES_PRIVATE). */
  env?: string;
  /** One line for the documentation and for "did you mean". */
  doc: string;
}

/**
 * The keys one namespace owns. `namespace` is `""` for top-level keys such as `identity`,
 * or the plugin name for `plugin.<namespace>.<key>` keys (for example `aes`, `rabbitmq`).
 * Keys may contain a `N` segment standing for any integer (`pool.N.host`).
 */
export interface ConfigSchema {
  namespace: string;
  keys: Record<string, SettingSpec>;
}

/** A read-only, validated view of the configuration. Typed values follow the schema. */
export interface ConfigView {
  /** The file the configuration was read from, or "(memory)". */
  readonly source: string;
  /** The value as written (after env overrides), or the default rendered as text, or undefined. */
  raw(key: string): string | undefined;
  string(key: string): string | undefined;
  boolean(key: string): boolean;
  integer(key: string): number;
  number(key: string): number;
  list(key: string): string[];
  /** Whether the key was set (file or environment), as opposed to defaulted. */
  has(key: string): boolean;
  /** Where the key's value came from, for error messages. */
  origin(key: string): SettingOrigin;
  /** Every set key that starts with the prefix (for example `plugin.puppet.`). */
  keys(prefix?: string): string[];
}
