/**
 * `node --import <this file>` with TSC_MODULE_LOG=<path>: records every module the process loads in that file, one
 * URL a line: ES modules as they load (module-log-hooks.ts), CommonJS modules (require.cache) at exit. Tests use it
 * to check what a program run loads, by name, never by time.
 */
import { appendFileSync } from 'node:fs';
import { createRequire, register } from 'node:module';
import { pathToFileURL } from 'node:url';

const logPath = process.env.TSC_MODULE_LOG;
if (logPath) {
  register('./module-log-hooks.js', import.meta.url, { data: { logPath } });
  const cache = createRequire(import.meta.url).cache;
  process.on('exit', () => appendFileSync(logPath, Object.keys(cache).map((path) => `${pathToFileURL(path).href}\n`).join('')));
}
