/**
 * The name rules of tscollective, in one place: what node identities, collectives, agents, actions, key names,
 * callerids, request ids, key ids, fact and class names, action input/output keys and agent versions may look like. Every layer (configuration, connectors,
 * the security provider, the daemon, the client, the key tools) checks names with these rules, so a name one
 * layer accepts is never refused by another. Every pattern is anchored and linear (no nested quantifiers).
 */
import { InvalidArgumentError } from './errors.js';

/** One name rule: its pattern, its longest length, and how to say it in an error message. */
export interface NameRule {
  readonly pattern: RegExp;
  readonly maxLength: number;
  /** What the rule allows, in words, for error messages. */
  readonly description: string;
}

const rule = (pattern: RegExp, maxLength: number, description: string): NameRule => Object.freeze({ pattern, maxLength, description });

const HOST_LIKE = 'letters, digits, "_", "." and "-", starting with a letter, digit or "_"';

/** The name rules, by kind. */
export const NAME_RULES = Object.freeze({
  /** A node identity (host-name like); it becomes part of broker destinations and file names. */
  identity: rule(/^\w[\w.-]*$/, 255, HOST_LIKE),
  /** A collective (sub-collective) name; part of broker destinations. */
  collective: rule(/^\w[\w.-]*$/, 128, HOST_LIKE),
  /** An agent name, as requests and policy files address it. */
  agent: rule(/^[a-z][a-z0-9_]*$/, 128, 'lower-case letters, digits and "_", starting with a letter'),
  /** An action name. */
  action: rule(/^[a-z][a-z0-9_]*$/, 128, 'lower-case letters, digits and "_", starting with a letter'),
  /** A key or certificate name: `<name>.pem`, callerid `cert=<name>`; never hidden, never a path. */
  keyName: rule(/^\w[\w.-]*$/, 255, HOST_LIKE),
  /** A callerid: `cert=<key name>`. */
  callerid: rule(/^cert=\w[\w.-]*$/, 260, '"cert=" followed by a key name'),
  /** A request id: 32 lower-case hex characters. */
  requestid: rule(/^[0-9a-f]{32}$/, 32, '32 lower-case hex characters'),
  /** A key id: 32 lower-case hex characters (the first 16 bytes of SHA-256 of the public key). */
  kid: rule(/^[0-9a-f]{32}$/, 32, '32 lower-case hex characters'),
  /** A fact name (dots and colons for flattened nested facts). */
  fact: rule(/^[\w.:-]+$/, 255, 'letters, digits, "_", ".", ":" and "-"'),
  /** A configuration-management class name (Puppet classes use "::"). */
  className: rule(/^[\w:.-]+$/, 255, 'letters, digits, "_", ":", "." and "-"'),
  /** An action input or output name (`key=value` on the command line, a key of the request data or reply data). */
  dataKey: rule(/^[A-Za-z_]\w*$/, 128, 'letters, digits and "_", not starting with a digit'),
  /** An agent version as a description declares it (`1.0.0`, `2.1-rc1`); part of cache file names. */
  version: rule(/^[A-Za-z0-9][\w.+-]*$/, 64, 'letters, digits, "_", ".", "+" and "-", starting with a letter or digit'),
});

/** The kinds of names there are rules for. */
export type NameKind = keyof typeof NAME_RULES;

/** Whether `value` is a valid name of `kind`. */
export function isName(kind: NameKind, value: unknown): value is string {
  const { pattern, maxLength } = NAME_RULES[kind];
  return typeof value === 'string' && value.length > 0 && value.length <= maxLength && pattern.test(value);
}

/** Why `value` is not a valid name of `kind` (naming `argument`), or null when it is one. */
export function nameProblem(kind: NameKind, argument: string, value: unknown): string | null {
  if (isName(kind, value)) return null;
  const { maxLength, description } = NAME_RULES[kind];
  if (typeof value !== 'string') return `${argument}: expected a ${kindLabel(kind)}, got ${typeof value}`;
  if (value.length === 0 || value.length > maxLength) return `${argument}: a ${kindLabel(kind)} is 1 to ${maxLength} characters long, got ${value.length}`;
  return `${argument}: ${JSON.stringify(value)} is not a valid ${kindLabel(kind)} (${description})`;
}

/** Returns `value` when it is a valid name of `kind`; throws InvalidArgumentError naming `argument` otherwise. */
export function checkName(kind: NameKind, argument: string, value: unknown): string {
  const problem = nameProblem(kind, argument, value);
  if (problem !== null) throw new InvalidArgumentError(problem);
  return value as string;
}

/** `cert=<name>` for a key name. */
export function calleridFor(name: string): string {
  return `cert=${name}`;
}

/** The key name inside a `cert=<name>` callerid, or null when the callerid is not of that form. */
export function nameFromCallerid(callerid: unknown): string | null {
  return isName('callerid', callerid) ? callerid.slice('cert='.length) : null;
}

function kindLabel(kind: NameKind): string {
  return kind.replace(/[A-Z]/g, (letter) => ` ${letter.toLowerCase()}`);
}
