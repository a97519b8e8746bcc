/** Identity names and callerids: the `[\w.-]+` rule and the mapping name <-> key file path. */
import { basename, join, resolve, dirname } from 'node:path';

const NAME_PATTERN = /^[\w.-]+$/;
const CALLERID_PATTERN = /^cert=([\w.-]+)$/;

/** Whether `name` is a valid identity name: `[\w.-]+`, and not `.`/`..` or hidden. */
export function isValidName(name: string): boolean {
  return typeof name === 'string' && name.length <= 255 && NAME_PATTERN.test(name) && !name.startsWith('.');
}

/** `cert=<name>` for a name. */
export function calleridFor(name: string): string {
  return `cert=${name}`;
}

/** The name inside a `cert=<name>` callerid, or null when the callerid is not of that form. */
export function nameFromCallerid(callerid: string): string | null {
  if (typeof callerid !== 'string') return null;
  const match = CALLERID_PATTERN.exec(callerid);
  return match && isValidName(match[1]!) ? match[1]! : null;
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
