/** Key and certificate names (`NAME.pem`, callerid `cert=NAME`): the keyName rule of src/names.ts. */
import { checkName, isName } from '../names.js';

/** Whether `name` is usable as a key or certificate name (`NAME.pem`, callerid `cert=NAME`). */
export function isValidKeyName(name: unknown): name is string {
  return isName('keyName', name);
}

/** Throws InvalidArgumentError naming `argument` unless `name` is a valid key name. */
export function assertKeyName(name: unknown, argument = 'name'): asserts name is string {
  checkName('keyName', argument, name);
}
