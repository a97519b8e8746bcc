/**
 * Reading an opened file whole, after its size was checked: the callers stat the descriptor first and refuse a file
 * over their bound, so no read grows with a file an attacker may have made large.
 */
import { readSync } from 'node:fs';

/** Reads `size` bytes of the open file `fd` from its start; fewer when the file shrank after it was measured. */
export function readOpenFile(fd: number, size: number): Buffer {
  const buffer = Buffer.allocUnsafe(size);
  let read = 0;
  while (read < buffer.length) {
    const n = readSync(fd, buffer, read, buffer.length - read, read);
    if (n === 0) break;
    read += n;
  }
  return buffer.subarray(0, read);
}
