/**
 * Every key of every registered configuration schema is documented: in docs/configuration.md, or for a
 * connector's plugin.<connector>.* keys in docs/connectors.md or docs/brokers.md. The schemas are found from
 * the sources (every module calling registerConfigSchema), so a new plugin's keys are checked without being
 * listed here. The generated reference tables of docs/configuration.md must also match the schemas.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { REPO_ROOT, fullKeys, loadRegisteredSchemas, renderReference, type SchemaSource } from '../harness/config-schemas.js';

const doc = (name: string): string => readFileSync(join(REPO_ROOT, 'docs', name), 'utf8');
let sources: SchemaSource[];
before(async () => {
  sources = await loadRegisteredSchemas();
});

test('the schemas of the core, the security provider and every connector are found', () => {
  const namespaces = sources.flatMap((source) => source.schemas.map((schema) => schema.namespace));
  for (const expected of ['', 'aes', 'amqp', 'memory', 'rabbitmq', 'activemq', 'actionpolicy', 'rpcaudit']) {
    assert.ok(namespaces.includes(expected), `namespace ${JSON.stringify(expected)} in ${JSON.stringify(namespaces)}`);
  }
});

test('every key of every registered schema is documented', () => {
  const configuration = doc('configuration.md');
  const connectorDocs = `${doc('connectors.md')}\n${doc('brokers.md')}`;
  const missing: string[] = [];
  for (const source of sources) {
    const docs = source.module.startsWith('plugins/connector/') ? `${configuration}\n${connectorDocs}` : configuration;
    for (const key of fullKeys(source.schemas)) if (!docs.includes(`\`${key}\``)) missing.push(`${key} (${source.module})`);
  }
  assert.deepEqual(missing, [], `keys missing from docs/configuration.md (run npm run docs:config): ${missing.join(', ')}`);
});

test('the generated tables of docs/configuration.md match the schemas', () => {
  const configuration = doc('configuration.md');
  const { topLevel, plugins } = renderReference(sources);
  for (const [name, body] of [['top-level keys', topLevel], ['plugin keys', plugins]] as const) {
    const begin = `<!-- BEGIN generated: ${name} (scripts/config-reference.mjs) -->\n`;
    const from = configuration.indexOf(begin);
    const to = configuration.indexOf(`<!-- END generated: ${name} -->`);
    assert.ok(from >= 0 && to > from, `docs/configuration.md has the "${name}" section markers`);
    assert.equal(configuration.slice(from + begin.length, to), `${body}\n`, `the "${name}" tables are out of date: run npm run docs:config`);
  }
});
