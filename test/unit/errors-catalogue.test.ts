/** The error catalogue: every code is stable, unique, documented in docs/errors.md, and errors carry name and cause. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as errors from '../../src/errors.js';

const root = new URL('../../../', import.meta.url);
const source = readFileSync(new URL('src/errors.ts', root), 'utf8');
const codes = [...source.matchAll(/'(TSC_[A-Z0-9_]+)'/g)].map((m) => m[1]!);

test('every error code in src/errors.ts is unique and documented in docs/errors.md', () => {
  const documented = readFileSync(new URL('docs/errors.md', root), 'utf8');
  assert.ok(codes.length >= 15, `expected the catalogue to define codes, found ${codes.length}`);
  assert.equal(new Set(codes).size, codes.length, 'duplicate error codes');
  const missing = codes.filter((code) => !documented.includes(`\`${code}\``));
  assert.deepEqual(missing, [], `codes missing from docs/errors.md: ${missing.join(', ')}`);
});

test('every exported error class is a TscError whose name is its class name', () => {
  for (const [exportName, value] of Object.entries(errors)) {
    if (typeof value !== 'function' || !(value.prototype instanceof Error)) continue;
    assert.ok(value === errors.TscError || value.prototype instanceof errors.TscError, `${exportName} does not extend TscError`);
  }
  const cause = new Error('disk on fire');
  const error = new errors.KeyFileError('cannot read key', { cause });
  assert.equal(error.name, 'KeyFileError');
  assert.equal(error.code, 'TSC_KEY_FILE');
  assert.equal(error.cause, cause);
  assert.ok(new errors.ExpiredError('x') instanceof errors.SecurityError);
});
