/**
 * The registry of configuration schemas. Each namespace (`""` for top-level keys, or a plugin
 * name such as `aes` or `rabbitmq` for `plugin.<name>.<key>`) declares its keys once; loading
 * validates every setting against what is registered at that moment.
 */
import { InvalidArgumentError } from '../errors.js';
import type { ConfigSchema, SettingSpec, SettingType } from '../inter/config.js';
import { checkSettingValue } from './values.js';

const schemas = new Map<string, ConfigSchema>();

const NAMESPACE = /^[a-z][a-z0-9_]*$/;
const SCHEMA_KEY = /^[A-Za-z_][\w-]*(\.([A-Za-z_][\w-]*|N))*$/;
const TYPES: readonly SettingType[] = ['string', 'boolean', 'integer', 'number', 'path', 'list', 'enum'];

/** Every problem with a schema declaration (a programming error in the plugin that declares it). */
function schemaProblems(schema: ConfigSchema): string[] {
  const problems: string[] = [];
  if (typeof schema.namespace !== 'string' || (schema.namespace !== '' && !NAMESPACE.test(schema.namespace))) {
    problems.push(`namespace must be "" or match ${NAMESPACE}, got ${JSON.stringify(schema.namespace)}`);
  }
  if (typeof schema.keys !== 'object' || schema.keys === null) return [...problems, 'keys must be an object'];
  for (const [key, spec] of Object.entries(schema.keys)) {
    const where = `key ${JSON.stringify(key)}`;
    if (!SCHEMA_KEY.test(key)) problems.push(`${where}: not a valid key (dotted words, "N" for a numeric segment)`);
    if (!TYPES.includes(spec.type)) {
      problems.push(`${where}: type must be one of ${TYPES.join(', ')}, got ${JSON.stringify(spec.type)}`);
      continue;
    }
    if (typeof spec.doc !== 'string' || spec.doc.trim() === '') problems.push(`${where}: doc must be a non-empty string`);
    if (spec.type === 'enum' && (!Array.isArray(spec.values) || spec.values.length === 0)) {
      problems.push(`${where}: an enum needs a non-empty values list`);
    }
    if (spec.min !== undefined && spec.max !== undefined && spec.min > spec.max) problems.push(`${where}: min ${spec.min} is above max ${spec.max}`);
    if (spec.env !== undefined && !/^[A-Z_][A-Z0-9_]*$/.test(spec.env)) problems.push(`${where}: env must be an upper-case variable name, got ${JSON.stringify(spec.env)}`);
    if (spec.env !== undefined && key.split('.').includes('N')) problems.push(`${where}: a key with an N segment cannot have an env override`);
    if (spec.default !== undefined) {
      const problem = checkSettingValue(spec, Array.isArray(spec.default) ? spec.default : String(spec.default));
      if (problem) problems.push(`${where}: default ${JSON.stringify(spec.default)}: ${problem}`);
    }
  }
  return problems;
}

/**
 * Declares the keys of one namespace. Throws InvalidArgumentError when the schema is malformed
 * (listing every problem) or when the namespace is already registered with another schema; registering the
 * same schema object again does nothing (the runtime registers plugin schemas before it imports the plugin).
 */
export function registerConfigSchema(schema: ConfigSchema): void {
  if (schema && typeof schema === 'object' && schemas.get(schema.namespace) === schema) return;
  const problems = schemaProblems(schema);
  if (problems.length > 0) {
    throw new InvalidArgumentError(`registerConfigSchema: schema ${JSON.stringify(schema?.namespace)} is invalid: ${problems.join('; ')}`);
  }
  if (schemas.has(schema.namespace)) {
    throw new InvalidArgumentError(`registerConfigSchema: namespace ${JSON.stringify(schema.namespace)} is already registered`);
  }
  schemas.set(schema.namespace, schema);
}

/** The registered schemas, top level first, then by namespace. */
export function registeredSchemas(): ConfigSchema[] {
  return [...schemas.values()].sort((a, b) => a.namespace.localeCompare(b.namespace));
}

/** The full key a user writes for `key` of `namespace`: `identity`, `plugin.aes.send_pubkey`. */
export function fullKey(namespace: string, key: string): string {
  return namespace === '' ? key : `plugin.${namespace}.${key}`;
}

/** How a configuration key relates to the registered schemas. */
export type KeyResolution =
  /** Declared: validated and typed by `spec`. */
  | { kind: 'declared'; namespace: string; spec: SettingSpec }
  /** Under a registered namespace (or top level) but not declared: a likely typo. */
  | { kind: 'unknown'; namespace: string; candidates: string[] }
  /** Under an unregistered `plugin.<name>.` namespace: belongs to an agent, kept as is. */
  | { kind: 'foreign'; namespace: string };

/** Replaces numeric segments with `N`, the way schema keys spell them (`pool.1.host` -> `pool.N.host`). */
function patternOf(segments: readonly string[]): string {
  return segments.map((segment) => (/^\d+$/.test(segment) ? 'N' : segment)).join('.');
}

/** Finds what the registered schemas say about `key`. */
export function resolveKey(key: string): KeyResolution {
  const segments = key.split('.');
  const topLevel = schemas.get('');
  const topSpec = topLevel?.keys[patternOf(segments)];
  if (topSpec) return { kind: 'declared', namespace: '', spec: topSpec };
  if (segments[0] === 'plugin' && segments.length >= 3) {
    const namespace = segments[1]!;
    const schema = schemas.get(namespace);
    if (!schema || namespace === '') return { kind: 'foreign', namespace };
    const spec = schema.keys[patternOf(segments.slice(2))];
    if (spec) return { kind: 'declared', namespace, spec };
    return { kind: 'unknown', namespace, candidates: Object.keys(schema.keys).map((k) => fullKey(namespace, k)) };
  }
  if (segments[0] === 'plugin') return { kind: 'foreign', namespace: segments[1] ?? '' };
  return { kind: 'unknown', namespace: '', candidates: topLevel ? Object.keys(topLevel.keys) : [] };
}

/** The declaration of `key`, if any registered schema declares it. */
export function specFor(key: string): SettingSpec | undefined {
  const resolution = resolveKey(key);
  return resolution.kind === 'declared' ? resolution.spec : undefined;
}

/** The registered namespace names other than the top level. */
export function registeredNamespaces(): string[] {
  return [...schemas.keys()].filter((namespace) => namespace !== '');
}
