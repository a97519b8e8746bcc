#!/usr/bin/env node
// Restores package-lock.json entries for msgpackr's optional, platform-specific native builds.
// The npm registry reachable from these machines does not serve the other platforms' builds, so `npm install`
// here leaves them out of the lock file and `npm ci` then refuses it ("Missing: ... from lock file").
// The entries carry their os/cpu constraints, so npm skips them on every other platform without fetching.
// Run after any `npm install` that rewrites the lock file: node scripts/lockfile-platform-entries.mjs
import { readFileSync, writeFileSync } from 'node:fs';

const path = new URL('../package-lock.json', import.meta.url);
const lock = JSON.parse(readFileSync(path, 'utf8'));
const extract = lock.packages['node_modules/msgpackr-extract'];
if (!extract) {
  console.log('lockfile-platform-entries: msgpackr-extract is not in the lock file; nothing to do');
  process.exit(0);
}
const platforms = { 'darwin-arm64': ['darwin', 'arm64'], 'darwin-x64': ['darwin', 'x64'], 'linux-arm': ['linux', 'arm'], 'linux-arm64': ['linux', 'arm64'], 'linux-x64': ['linux', 'x64'], 'win32-x64': ['win32', 'x64'] };
let added = 0;
for (const [name, version] of Object.entries(extract.optionalDependencies ?? {})) {
  const key = `node_modules/${name}`;
  const platform = platforms[name.replace('@msgpackr-extract/msgpackr-extract-', '')];
  if (lock.packages[key] || !platform) continue;
  lock.packages[key] = { version, cpu: [platform[1]], license: 'MIT', optional: true, os: [platform[0]] };
  added++;
}
lock.packages = Object.fromEntries(Object.entries(lock.packages).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a < b ? -1 : a > b ? 1 : 0)));
writeFileSync(path, `${JSON.stringify(lock, null, 2)}\n`);
console.log(`lockfile-platform-entries: added ${added} entr${added === 1 ? 'y' : 'ies'}`);
