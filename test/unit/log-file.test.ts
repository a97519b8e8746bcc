/**
 * The log file (src/util/log-file.ts) and the settings that drive it: size-based rotation keeping `keeplogs`
 * files without losing or reordering a line, reopening after an outside rotation, files that must never be
 * rotated (/dev/null), failures that must not crash or lose lines, and the start-up refusals of `max_log_size`,
 * `keeplogs` and `threaded` values that would not do what they say.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readClientSettings } from '../../src/client/index.js';
import { configFromObject, parseConfig } from '../../src/config/index.js';
import { readLogRotation } from '../../src/config/log-rotation.js';
import { readDaemonSettings } from '../../src/daemon/index.js';
import { ConfigError } from '../../src/errors.js';
import { LogFile, openLog } from '../../src/util/log.js';

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'tsc-logfile-'));
}

/** The sequence numbers of the `line <n>` entries of a file, in file order. */
function numbers(path: string): number[] {
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8').split('\n').filter(Boolean).map((line) => Number(/line (\d+)/.exec(line)?.[1] ?? Number.NaN));
}

/** One turn of the event loop: lines logged across turns, as a daemon's are. */
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('LogFile rotation by size', () => {
  it('keeps keeplogs files of at most max_log_size bytes, newest in .1, and loses or reorders no kept line', async () => {
    const dir = tempDir();
    const path = join(dir, 'server.log');
    const { logger, file } = openLog({ file: path, rotation: { maxBytes: 4096, keep: 3 }, name: 'test' });
    for (let n = 0; n < 400; n++) {
      logger.info({ n }, `line ${n} ${'x'.repeat(40)}`);
      await turn();
    }
    await file!.close();

    assert.ok(!existsSync(`${path}.4`), 'no file beyond keeplogs');
    const files = [`${path}.3`, `${path}.2`, `${path}.1`, path];
    for (const rotated of files.slice(0, 3)) {
      assert.ok(existsSync(rotated), `${rotated} exists`);
      assert.ok(statSync(rotated).size <= 4096, `${rotated} is ${statSync(rotated).size} bytes, over max_log_size`);
      assert.ok(statSync(rotated).size > 4096 - 200, `${rotated} is filled up to about max_log_size`);
    }
    const kept = files.flatMap(numbers);
    assert.equal(kept.at(-1), 399, 'the newest line is in the live file');
    assert.deepEqual(kept, kept.map((_, index) => kept[0]! + index), 'the kept lines are consecutive and in order across the files');
    assert.ok(kept[0]! > 0, 'the oldest lines went with the file beyond keeplogs');
    assert.ok(file!.stats().rotations >= 4);
  });

  it('loses no line and rotates exactly between lines when a burst is logged within one turn of the event loop', async () => {
    const dir = tempDir();
    const path = join(dir, 'burst.log');
    const { logger, file } = openLog({ file: path, rotation: { maxBytes: 4096, keep: 50 }, name: 'test' });
    for (let n = 0; n < 1000; n++) logger.info({}, `line ${n}`);
    await file!.close();
    const rotated = Array.from({ length: 50 }, (_, index) => `${path}.${50 - index}`).filter((name) => existsSync(name));
    for (const name of rotated) assert.ok(statSync(name).size <= 4096, `${name} is over max_log_size`);
    const all = [...rotated, path].flatMap(numbers);
    assert.deepEqual(all, Array.from({ length: 1000 }, (_, n) => n));
  });

  it('rotates a file already over max_log_size when it is opened (tsco runs are short)', async () => {
    const dir = tempDir();
    const path = join(dir, 'tsco.log');
    writeFileSync(path, 'old\n'.repeat(2000));
    const file = new LogFile(path, { maxBytes: 4096, keep: 2 });
    file.write('line 1\n');
    await file.close();
    assert.equal(readFileSync(`${path}.1`, 'utf8'), 'old\n'.repeat(2000));
    assert.equal(readFileSync(path, 'utf8'), 'line 1\n');
  });

  it('never rotates what is not a regular file (logfile = /dev/null)', async () => {
    const file = new LogFile('/dev/null', { maxBytes: 4096, keep: 2 });
    for (let n = 0; n < 200; n++) file.write(`line ${n} ${'x'.repeat(100)}\n`);
    await file.close();
    assert.equal(file.stats().rotations, 0);
    assert.ok(statSync('/dev/null').isCharacterDevice());
    assert.ok(!existsSync('/dev/null.1'));
  });

  it('keeps writing to the same file, reporting the problem, when the rotation cannot rename it', async () => {
    const dir = tempDir();
    const path = join(dir, 'stuck.log');
    // A non-empty directory where the rotated file should go: the rename fails.
    mkdirSync(join(`${path}.1`, 'occupied'), { recursive: true });
    const reports: string[] = [];
    const file = new LogFile(path, { maxBytes: 4096, keep: 1 }, (line) => reports.push(line));
    for (let n = 0; n < 200; n++) {
      file.write(`line ${n} ${'x'.repeat(40)}\n`);
      await turn();
    }
    await file.close();
    assert.deepEqual(numbers(path), Array.from({ length: 200 }, (_, n) => n), 'every line is in the log');
    assert.equal(reports.length, 1, 'reported once, not per line');
    assert.match(reports[0]!, /cannot rotate the log file .*stuck\.log: .*still writing to it/);
    assert.ok(file.stats().errors >= 2, 'every failed attempt is counted');
  });

  it('drops and counts lines the disk refuses (/dev/full), reporting once, without throwing', async () => {
    const reports: string[] = [];
    const file = new LogFile('/dev/full', { maxBytes: 4096, keep: 2 }, (line) => reports.push(line));
    for (let n = 0; n < 50; n++) assert.doesNotThrow(() => file.write(`line ${n}\n`));
    await file.close();
    assert.equal(file.stats().dropped, 50);
    assert.equal(reports.length, 1);
    assert.match(reports[0]!, /cannot write the log file \/dev\/full: ENOSPC.*lines are being lost/);
  });

  it('says which file cannot be opened, at once', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'plain'), '');
    assert.throws(() => new LogFile(join(dir, 'plain', 'server.log')), /cannot open the log file .*plain\/server\.log/);
  });
});

describe('LogFile reopen (logrotate)', () => {
  it('writes to a new file at the path after the old one was moved away and reopen() was called', async () => {
    const dir = tempDir();
    const path = join(dir, 'server.log');
    const file = new LogFile(path, { maxBytes: 0, keep: 0 });
    for (let n = 0; n < 5; n++) file.write(`line ${n}\n`);
    await turn();
    renameSync(path, `${path}-20260101`);
    file.write('line 5\n');
    file.reopen();
    for (let n = 6; n < 10; n++) file.write(`line ${n}\n`);
    await file.close();
    const before = numbers(`${path}-20260101`);
    const after = numbers(path);
    assert.deepEqual([...before, ...after], Array.from({ length: 10 }, (_, n) => n), 'no line lost or repeated');
    assert.ok(after.includes(9) && !before.includes(9), 'lines after the reopen go to the new file');
    assert.equal(file.stats().reopens, 1);
  });
});

describe('max_log_size, keeplogs and threaded settings', () => {
  const problems = (settings: Record<string, string | number>): string[] => {
    const list: string[] = [];
    readLogRotation(configFromObject(settings), list);
    return list;
  };

  it('use MCollective defaults, and max_log_size = 0 turns rotation off whatever keeplogs says', () => {
    const list: string[] = [];
    assert.deepEqual(readLogRotation(configFromObject({}), list), { maxBytes: 2_097_152, keep: 5 });
    assert.deepEqual(readLogRotation(configFromObject({ max_log_size: 0, keeplogs: 0 }), list), { maxBytes: 0, keep: 0 });
    assert.deepEqual(list, []);
  });

  it('refuse a max_log_size that is a unit mistake, and keeplogs = 0 while rotating, saying what to use', () => {
    assert.match(problems({ max_log_size: 2 }).join('\n'), /max_log_size: 2 bytes would rotate the log every few lines; .*at least 4096, or 0 to leave rotation to logrotate/);
    assert.match(problems({ keeplogs: 0 }).join('\n'), /keeplogs: 0 with max_log_size = 2097152 would throw the log away at every rotation; .*max_log_size = 0/);
    assert.deepEqual(problems({ max_log_size: 4096, keeplogs: 1 }), []);
  });

  it('reach the daemon and the client settings', () => {
    const config = configFromObject({ max_log_size: 8192, keeplogs: 2, logfile: '/var/log/x.log' });
    assert.deepEqual(readDaemonSettings(config).settings.logRotation, { maxBytes: 8192, keep: 2 });
    assert.deepEqual(readClientSettings(config).settings.logRotation, { maxBytes: 8192, keep: 2 });
    assert.match(readDaemonSettings(configFromObject({ keeplogs: 0 })).problems.join('\n'), /keeplogs: 0/);
  });

  it('threaded = 0 (as MCollective configs carry it) is accepted; threaded = 1 is refused with the reason', () => {
    assert.doesNotThrow(() => parseConfig('threaded = 0\n', { source: 'client.cfg' }));
    const error = (() => {
      try {
        parseConfig('identity = a\nthreaded = 1\n', { source: 'client.cfg' });
      } catch (caught) {
        return caught;
      }
      return undefined;
    })();
    assert.ok(error instanceof ConfigError, 'threaded = 1 is refused');
    assert.match(error.message, /client\.cfg:2: threaded: tscollective has no threaded mode: .*receives replies while it is still publishing.*remove the line or set threaded = 0/);
  });
});
