/**
 * Libraries loaded on first use instead of at start-up. A `tsco` run pays for every module it imports before its
 * first message, and most runs never compile a regular expression or read YAML; these libraries ship a CommonJS
 * build, so they can be loaded synchronously at the point of first use (msgpackr's also loads faster than its ES
 * modules). Every user of a library goes through its
 * accessor here, so one copy of it is loaded per process.
 */
import { createRequire } from 'node:module';
import type * as JsYaml from 'js-yaml';
import type * as Msgpackr from 'msgpackr';
import type { RE2JS } from 're2js';

const requireModule = createRequire(import.meta.url);

/** Returns a function that loads `specifier` (CommonJS) the first time it is called and returns it every time. */
export function lazyRequire<T>(specifier: string): () => T {
  let loaded: T | undefined;
  return () => (loaded ??= requireModule(specifier) as T);
}

/** re2js (linear-time regular expressions), loaded when the first pattern is compiled. */
export const re2js: () => typeof RE2JS = (() => {
  const load = lazyRequire<{ RE2JS: typeof RE2JS }>('re2js');
  return () => load().RE2JS;
})();

/** js-yaml, loaded when the first YAML document is read or written. */
export const jsYaml: () => typeof JsYaml = lazyRequire<typeof JsYaml>('js-yaml');

/**
 * msgpackr, through its one-file CommonJS build: every run needs it (protocol version 2 envelopes), and that build
 * loads in about half the time of its ES module graph.
 */
export const msgpackr: () => typeof Msgpackr = lazyRequire<typeof Msgpackr>('msgpackr');
