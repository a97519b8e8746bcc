/** Identity names and callerids (the rules of src/names.ts) and the mapping name <-> key file path. */
import { basename, join, resolve, dirname } from 'node:path';
import { isName } from '../../../src/names.js';

export { calleridFor, nameFromCallerid } from '../../../src/names.js';

/** Whether `name` is a valid key name: NAME_RULES.keyName (never hidden, never a path). */
export function isValidName(name: string): boolean {
  return isName('keyName', name);
}

/** The MCollective name of a key file without a certificate: its basename without `.pem`. */
export function nameFromKeyPath(path: string): string {
  return basename(path).replace(/\.pem$/, '');
}

/**
 * `<dir>/<name>.pem`, or null when the name is invalid or the path would leave `dir`
 * (the name check already excludes separators; the containment check guards the rule itself).
 */
export function keyPathFor(dir: string, name: string): string | null {
  if (!isValidName(name)) return null;
  const root = resolve(dir);
  const path = join(root, `${name}.pem`);
  return dirname(path) === root ? path : null;
}
