#!/usr/bin/env node
// `npm pack` / `npm publish` run this first (package.json "prepack"): a clean build of what the package ships
// (src, plugins, examples; tsconfig.build.json: no tests, no source maps), so the tarball never carries a stale
// or missing file. It empties dist/: the next `npm test` or `npm run build` rebuilds the rest.
import { rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';

const root = new URL('..', import.meta.url).pathname;
rmSync(new URL('../dist', import.meta.url), { recursive: true, force: true });
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const result = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
if (result.status !== 0) {
  console.error(`prepack: the build failed (tsc exit ${result.status ?? result.signal}); nothing is packed`);
  process.exit(1);
}
