/** The pid file: written, refused for a live owner, stale ones replaced, removed only by its owner. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { removePidFile, writePidFile } from '../../src/daemon/pidfile.js';
import { InvalidArgumentError } from '../../src/errors.js';
import { tempDir } from './helpers.js';

test('pid files', () => {
  const dir = tempDir('pid');
  const path = join(dir, 'run', 'd.pid');
  writePidFile(path);
  assert.equal(readFileSync(path, 'utf8'), `${process.pid}\n`);
  removePidFile(path);
  assert.equal(existsSync(path), false);

  // pid 1 is always alive: another daemon owns the file.
  writeFileSync(path, '1\n');
  assert.throws(() => writePidFile(path), (e: unknown) => e instanceof InvalidArgumentError && /belongs to running process 1/.test(e.message));
  removePidFile(path);
  assert.equal(readFileSync(path, 'utf8'), '1\n', 'another process\'s pid file is left alone');

  writeFileSync(path, 'garbage\n');
  writePidFile(path);
  assert.equal(readFileSync(path, 'utf8'), `${process.pid}\n`, 'a stale file is replaced');
});
