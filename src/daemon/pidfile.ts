/** The daemon's pid file: refused when another live daemon owns it, removed on exit. */
import { readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { InvalidArgumentError } from '../errors.js';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Writes this process's pid to `path`. Throws InvalidArgumentError when the file names another
 * running process; a stale file (dead pid, or garbage) is replaced.
 */
export function writePidFile(path: string): void {
  let existing: number | undefined;
  try {
    existing = Number.parseInt(readFileSync(path, 'utf8').trim(), 10);
  } catch {
    existing = undefined;
  }
  if (existing !== undefined && Number.isInteger(existing) && existing > 0 && existing !== process.pid && alive(existing)) {
    throw new InvalidArgumentError(`pidfile: ${path} belongs to running process ${existing}; is another tscollectived running?`);
  }
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${process.pid}\n`, { mode: 0o644 });
}

/** Removes the pid file if it still holds this process's pid. */
export function removePidFile(path: string): void {
  try {
    if (Number.parseInt(readFileSync(path, 'utf8').trim(), 10) === process.pid) rmSync(path, { force: true });
  } catch {
    // Already gone: nothing to clean up.
  }
}
