#!/usr/bin/env node
// Rewrites the generated reference tables of docs/configuration.md from the registered configuration schemas:
// the top-level keys, and one table per plugin namespace (plugin.<ns>.*). Run after changing a schema:
//   npm run docs:config        (builds first; `--check` exits 1 when the file is out of date instead)
// The sections sit between "<!-- BEGIN generated: NAME -->" and "<!-- END generated: NAME -->" markers.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const { loadRegisteredSchemas, renderReference } = await import(new URL('../dist/test/harness/config-schemas.js', import.meta.url).href);
const path = join(root, 'docs', 'configuration.md');
const current = readFileSync(path, 'utf8');
const { topLevel, plugins } = renderReference(await loadRegisteredSchemas());

let next = current;
for (const [name, body] of [['top-level keys', topLevel], ['plugin keys', plugins]]) {
  const begin = `<!-- BEGIN generated: ${name} (scripts/config-reference.mjs) -->`;
  const end = `<!-- END generated: ${name} -->`;
  const from = next.indexOf(begin);
  const to = next.indexOf(end);
  if (from < 0 || to < from) {
    console.error(`config-reference: ${path} has no "${begin}" ... "${end}" section`);
    process.exit(2);
  }
  next = `${next.slice(0, from + begin.length)}\n${body}\n${next.slice(to)}`;
}
if (process.argv.includes('--check')) {
  if (next !== current) {
    console.error('config-reference: docs/configuration.md is out of date: run npm run docs:config');
    process.exit(1);
  }
  console.log('config-reference: docs/configuration.md is current');
} else if (next !== current) {
  writeFileSync(path, next);
  console.log('config-reference: updated docs/configuration.md');
} else {
  console.log('config-reference: docs/configuration.md already current');
}
