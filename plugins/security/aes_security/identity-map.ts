/**
 * `plugin.aes.identity_map`: which identities a server key may sign replies and registrations as, besides its
 * own name. One line per key: `<key name> <identity or /regex/> ...`, `#` starts a comment. A `/regex/` must
 * match the whole identity and runs on re2js (linear time, no backtracking), so no map entry can be made slow.
 */
import type { RE2JS } from 're2js';
import { re2js } from '../../../src/util/lazy-require.js';
import { KeyFileError } from '../../../src/errors.js';
import { isName, nameProblem } from '../../../src/names.js';

/** A parsed identity map. */
export interface IdentityMap {
  /** Per key name: identities it may speak for. */
  readonly exact: ReadonlyMap<string, ReadonlySet<string>>;
  /** Per key name: patterns identities it may speak for match (whole-identity matches). */
  readonly patterns: ReadonlyMap<string, readonly RE2JS[]>;
}

/** Parses an identity map; throws KeyFileError listing every bad line (`path:line: problem`). */
export function parseIdentityMap(text: string, path: string): IdentityMap {
  const exact = new Map<string, Set<string>>();
  const patterns = new Map<string, RE2JS[]>();
  const problems: string[] = [];
  text.split(/\r?\n/).forEach((raw, index) => {
    const where = `${path}:${index + 1}`;
    const hash = raw.indexOf('#');
    const tokens = (hash >= 0 ? raw.slice(0, hash) : raw).trim().split(/\s+/).filter((token) => token !== '');
    if (tokens.length === 0) return;
    const [keyName, ...identities] = tokens as [string, ...string[]];
    const keyProblem = nameProblem('keyName', 'key name', keyName);
    if (keyProblem) problems.push(`${where}: ${keyProblem}`);
    if (identities.length === 0) problems.push(`${where}: key ${keyName} names no identity (expected "<key name> <identity or /regex/> ...")`);
    for (const identity of identities) {
      if (identity.length > 2 && identity.startsWith('/') && identity.endsWith('/')) {
        try {
          const list = patterns.get(keyName) ?? [];
          list.push(re2js().compile(identity.slice(1, -1)));
          patterns.set(keyName, list);
        } catch (error) {
          problems.push(`${where}: ${identity} is not a valid regular expression (${(error as Error).message})`);
        }
      } else if (isName('identity', identity)) {
        const set = exact.get(keyName) ?? new Set<string>();
        set.add(identity);
        exact.set(keyName, set);
      } else {
        problems.push(`${where}: ${nameProblem('identity', 'identity', identity)} (or write a /regex/)`);
      }
    }
  });
  if (problems.length > 0) throw new KeyFileError(`identity map has ${problems.length} problem(s): ${problems.join('; ')}`);
  return { exact, patterns };
}

/** Whether `map` lets key `keyName` speak for `identity`. */
export function mapAllows(map: IdentityMap, keyName: string, identity: string): boolean {
  if (map.exact.get(keyName)?.has(identity)) return true;
  return map.patterns.get(keyName)?.some((pattern) => pattern.matches(identity)) ?? false;
}
