#!/usr/bin/env node
// Runs every compiled bench (dist/bench/*.bench.js), one after the other, with the same arguments.
// Usage: node scripts/bench.mjs [--json] [--bench NAME]... [bench options such as --seconds S, --nodes N]
// With --json, each bench prints one JSON object and this prints their union as one object (the keys of the
// security bench keep their shape); without it, each bench prints its own table.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

const root = new URL('..', import.meta.url).pathname;
const benchDir = join(root, 'dist', 'bench');
const args = process.argv.slice(2);
const only = [];
const passed = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--bench') only.push(args[++i]);
  else passed.push(args[i]);
}
const json = passed.includes('--json');
const files = readdirSync(benchDir)
  .filter((file) => file.endsWith('.bench.js'))
  .filter((file) => only.length === 0 || only.some((name) => file.startsWith(`${name}.`)))
  .sort();
if (files.length === 0) {
  console.error(`bench: no bench matched ${only.join(' ') || '(all)'} in ${benchDir}`);
  process.exit(1);
}
const merged = {};
let failed = false;
for (const file of files) {
  const result = spawnSync(process.execPath, [join(benchDir, file), ...passed], { stdio: ['ignore', json ? 'pipe' : 'inherit', 'inherit'], encoding: 'utf8' });
  if (result.status !== 0) {
    console.error(`bench: ${file} exited with ${result.status ?? result.signal}`);
    failed = true;
    continue;
  }
  if (json) {
    try {
      Object.assign(merged, JSON.parse(result.stdout.trim().split('\n').at(-1)));
    } catch (error) {
      console.error(`bench: ${file} did not print one JSON object: ${error.message}`);
      failed = true;
    }
  } else {
    console.log('');
  }
}
if (json) console.log(JSON.stringify(merged));
process.exit(failed ? 1 : 0);
