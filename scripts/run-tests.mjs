#!/usr/bin/env node
// Runs the compiled test files with node's built-in test runner.
// Usage: node scripts/run-tests.mjs [unit|integration|<path fragment>...]
// Node 20's --test does not expand globs, so the files are listed here.
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawnSync } from 'node:child_process';

const root = new URL('..', import.meta.url).pathname;
const testDir = join(root, 'dist', 'test');
const filters = process.argv.slice(2);

function walk(dir) {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    return statSync(path).isDirectory() ? walk(path) : path.endsWith('.test.js') ? [path] : [];
  });
}

const files = walk(testDir)
  .filter((file) => filters.length === 0 || filters.some((f) => relative(testDir, file).includes(f)))
  .sort();
if (files.length === 0) {
  console.error(`run-tests: no test files matched ${filters.join(' ') || '(all)'} under ${testDir}`);
  process.exit(1);
}
const result = spawnSync(process.execPath, ['--test', '--test-concurrency=1', ...files], { stdio: 'inherit' });
process.exit(result.status ?? 1);
