/**
 * Every configuration schema the code registers, found from the sources (each module that calls
 * registerConfigSchema is imported, so a new plugin is covered without listing it here), and the reference
 * tables of docs/configuration.md rendered from them (scripts/config-reference.mjs writes them; a unit test
 * checks every key is documented).
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { fullKey, registeredSchemas } from '../../src/config/schema-registry.js';
import type { ConfigSchema, SettingSpec } from '../../src/inter/config.js';

/** The repository root (from dist/test/harness/). */
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** The schemas registered by one source module. */
export interface SchemaSource {
  /** The module's source path, relative to the repository, for example `plugins/connector/amqp/index.ts`. */
  module: string;
  schemas: ConfigSchema[];
}

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) return sources(path);
    return path.endsWith('.ts') && !path.endsWith('.d.ts') ? [path] : [];
  });
}

/** Imports every module that registers a schema (core first) and returns what each registered. */
export async function loadRegisteredSchemas(): Promise<SchemaSource[]> {
  const registering = ['src', 'plugins']
    .flatMap((dir) => sources(join(REPO_ROOT, dir)))
    .filter((path) => !path.endsWith('schema-registry.ts') && /\bregisterConfigSchema\(\s*[A-Za-z{(]/.test(readFileSync(path, 'utf8')))
    .map((path) => relative(REPO_ROOT, path))
    .sort((a, b) => Number(b === 'src/config/core-schema.ts') - Number(a === 'src/config/core-schema.ts') || a.localeCompare(b));
  const result: SchemaSource[] = [];
  for (const module of registering) {
    const known = new Set(registeredSchemas().map((schema) => schema.namespace));
    await import(pathToFileURL(join(REPO_ROOT, 'dist', module.replace(/\.ts$/, '.js'))).href);
    const added = registeredSchemas().filter((schema) => !known.has(schema.namespace));
    if (added.length > 0) result.push({ module, schemas: added });
  }
  return result;
}

/** Every full key (`identity`, `plugin.aes.send_pubkey`, `plugin.amqp.pool.N.host`) of the schemas. */
export function fullKeys(schemas: readonly ConfigSchema[]): string[] {
  return schemas.flatMap((schema) => Object.keys(schema.keys).map((key) => fullKey(schema.namespace, key)));
}

function typeText(spec: SettingSpec): string {
  if (spec.type === 'enum') return `enum: ${(spec.values ?? []).join(', ')}`;
  if (spec.min !== undefined && spec.max !== undefined) return `${spec.type} (${spec.min}..${spec.max})`;
  if (spec.min !== undefined) return `${spec.type} (≥ ${spec.min})`;
  if (spec.max !== undefined) return `${spec.type} (≤ ${spec.max})`;
  return spec.type;
}

function defaultText(key: string, spec: SettingSpec): string {
  const value = spec.default;
  if (value === undefined) return '—';
  if (key === 'identity' && value === hostname()) return 'the host name';
  if (typeof value === 'boolean') return `\`${value ? 1 : 0}\``;
  if (Array.isArray(value)) return `\`${value.join(',')}\``;
  return `\`${String(value)}\``;
}

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

/** A Markdown table of the schemas' keys: Key, Type, Default, Meaning (with the environment override). */
export function renderTable(schemas: readonly ConfigSchema[]): string {
  const rows = schemas.flatMap((schema) => Object.entries(schema.keys).map(([key, spec]) => {
    const meaning = spec.env ? `${spec.doc} Environment: \`${spec.env}\` overrides it.` : spec.doc;
    return `| \`${fullKey(schema.namespace, key)}\` | ${cell(typeText(spec))} | ${cell(defaultText(key, spec))} | ${cell(meaning)} |`;
  }));
  return ['| Key | Type | Default | Meaning |', '|---|---|---|---|', ...rows].join('\n');
}

/** The generated sections of docs/configuration.md: the top-level table, then one table per plugin namespace. */
export function renderReference(sources: readonly SchemaSource[]): { topLevel: string; plugins: string } {
  const core = sources.find((source) => source.module === 'src/config/core-schema.ts');
  const plugins = sources.filter((source) => source !== core);
  const sections = plugins.flatMap((source) => source.schemas.map((schema) =>
    [`### \`plugin.${schema.namespace}.*\``, '', `Declared in \`${source.module}\`.`, '', renderTable([schema])].join('\n')));
  return { topLevel: renderTable(core?.schemas ?? []), plugins: sections.join('\n\n') };
}
