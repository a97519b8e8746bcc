/** The identity-name rule shared by key files, certificates and callerids: `[\w.-]+`, not hidden. */
import { InvalidArgumentError } from '../errors.js';

const NAME_PATTERN = /^[\w.-]+$/;

/** Whether `name` is usable as a key or certificate name (`NAME.pem`, callerid `cert=NAME`). */
export function isValidKeyName(name: unknown): name is string {
  return typeof name === 'string' && name.length > 0 && name.length <= 255 && NAME_PATTERN.test(name) && !name.startsWith('.');
}

/** Throws InvalidArgumentError naming `argument` unless `name` is a valid key name. */
export function assertKeyName(name: unknown, argument = 'name'): asserts name is string {
  if (!isValidKeyName(name)) {
    throw new InvalidArgumentError(
      `${argument}: ${JSON.stringify(name)} is not a valid key name (letters, digits, "_", "." and "-" only, not starting with ".")`,
    );
  }
}
