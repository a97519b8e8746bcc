// Preloaded into every test process by scripts/run-tests.mjs (node --import): gives each test (test/it, and their
// skip/todo/only forms) and each hook (before/after/beforeEach/afterEach) that sets no `timeout` of its own a
// default one, TSC_TEST_TIMEOUT_MS milliseconds, so no test can wait forever. Node 20's --test-timeout cannot do
// this: it bounds each test *file* as a whole. Suites (describe) get no timeout: their tests and hooks are bounded.
//
// node:test records where a test was declared from the frame that calls test(); through a plain wrapper every
// test would be reported as declared here. So the wrapper calls node:test through a one-line trampoline compiled
// (once per call site) with the caller's file name, line and column: reports keep pointing at the test file.
import { createRequire, syncBuiltinESMExports } from 'node:module';
import { runInThisContext } from 'node:vm';

const limit = Number(process.env.TSC_TEST_TIMEOUT_MS);
if (Number.isFinite(limit) && limit > 0) {
  const require = createRequire(import.meta.url);
  const nodeTest = require('node:test');

  const TRAMPOLINE = '(f, self, args) => f.apply(self, args)';
  const trampolines = new Map();
  const plainCall = (f, self, args) => f.apply(self, args);

  /** The call site that called `wrapper` (file, line, column), or undefined. */
  const callerOf = (wrapper) => {
    const saved = Error.prepareStackTrace;
    Error.prepareStackTrace = (_, sites) => sites;
    const holder = {};
    Error.captureStackTrace(holder, wrapper);
    const site = Array.isArray(holder.stack) ? holder.stack[0] : undefined;
    Error.prepareStackTrace = saved;
    return site;
  };

  /** A function calling f.apply(self, args) whose call expression sits at the caller's file:line:column. */
  const trampolineFor = (site) => {
    const file = site?.getFileName?.();
    const line = site?.getLineNumber?.();
    const column = site?.getColumnNumber?.();
    if (!file || !line || !column) return plainCall;
    const key = `${file}:${line}:${column}`;
    let trampoline = trampolines.get(key);
    if (!trampoline) {
      // V8 places a call frame at the called property's name ("apply").
      trampoline = runInThisContext(TRAMPOLINE, { filename: file, lineOffset: line - 1, columnOffset: column - 1 - TRAMPOLINE.indexOf('apply') });
      trampolines.set(key, trampoline);
    }
    return trampoline;
  };

  /** test(name?, options?, fn?) with `timeout` defaulted. */
  const forTests = (original) => {
    const wrapped = function (name, options, fn) {
      if (typeof name === 'function' || (typeof name === 'object' && name !== null)) [name, options, fn] = [undefined, name, options];
      if (typeof options === 'function') [options, fn] = [undefined, options];
      const withLimit = { timeout: limit, ...(options ?? {}) };
      const args = name === undefined ? [withLimit, fn] : [name, withLimit, fn];
      return trampolineFor(callerOf(wrapped))(original, this, args);
    };
    for (const key of ['skip', 'todo', 'only']) if (typeof original[key] === 'function') wrapped[key] = forTests(original[key]);
    return wrapped;
  };
  /** before(fn, options?) with `timeout` defaulted. */
  const forHooks = (original) => {
    const wrapped = function (fn, options) {
      return trampolineFor(callerOf(wrapped))(original, this, [fn, { timeout: limit, ...(options ?? {}) }]);
    };
    return wrapped;
  };

  nodeTest.test = forTests(nodeTest.test);
  nodeTest.it = forTests(nodeTest.it);
  for (const hook of ['before', 'after', 'beforeEach', 'afterEach']) nodeTest[hook] = forHooks(nodeTest[hook]);
  syncBuiltinESMExports();
}
