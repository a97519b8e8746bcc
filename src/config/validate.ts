/**
 * Validation of settings against the registered schemas: every problem (type, enum, range)
 * becomes an error naming `origin: key`; unknown keys under a known namespace become warnings
 * with a "did you mean" suggestion; keys of unregistered plugin namespaces pass untouched.
 */
import { closest } from './suggest.js';
import type { Setting } from './config.js';
import { registeredNamespaces, resolveKey } from './schema-registry.js';
import { checkSettingValue } from './values.js';

/** What validation found. */
export interface ValidationResult {
  problems: string[];
  warnings: string[];
  /** Keys whose value did not pass its spec (left out of a partial configuration). */
  invalidKeys: string[];
}

/** `plugin.rabbitmq.pool.1.hots` compares as `plugin.rabbitmq.pool.N.hots`; the numbers are put back in the suggestion. */
function suggestion(key: string, candidates: readonly string[]): string | undefined {
  const segments = key.split('.');
  const pattern = segments.map((segment) => (/^\d+$/.test(segment) ? 'N' : segment)).join('.');
  const match = closest(pattern, candidates);
  if (match === undefined) return undefined;
  const numbers = segments.filter((segment) => /^\d+$/.test(segment));
  return match.split('.').map((segment) => (segment === 'N' && numbers.length > 0 ? numbers.shift()! : segment)).join('.');
}

function unknownKeyWarning(key: string, origin: string, namespace: string, candidates: readonly string[]): string {
  const where = namespace === '' ? 'unknown key' : `unknown key in namespace "${namespace}"`;
  const guess = suggestion(key, candidates);
  return `${origin}: ${key}: ${where}${guess ? `; did you mean ${guess}?` : ''}`;
}

/** `plugin.ase.send_pubkey` when `aes` is registered and declares `send_pubkey`. */
function misspeltNamespace(key: string, namespace: string): string | undefined {
  const near = closest(namespace, registeredNamespaces());
  if (near === undefined || near.length < 3) return undefined;
  const corrected = `plugin.${near}.${key.split('.').slice(2).join('.')}`;
  return resolveKey(corrected).kind === 'declared' ? corrected : undefined;
}

/** Checks every setting; the order of messages follows the order of `settings`. */
export function validateSettings(settings: ReadonlyMap<string, Setting>): ValidationResult {
  const problems: string[] = [];
  const warnings: string[] = [];
  const invalidKeys: string[] = [];
  for (const [key, setting] of settings) {
    const resolution = resolveKey(key);
    if (resolution.kind === 'declared') {
      const problem = checkSettingValue(resolution.spec, setting.value);
      if (problem) {
        problems.push(`${setting.origin}: ${key}: ${problem}`);
        invalidKeys.push(key);
      }
    } else if (resolution.kind === 'unknown') {
      warnings.push(unknownKeyWarning(key, setting.origin, resolution.namespace, resolution.candidates));
    } else {
      const corrected = misspeltNamespace(key, resolution.namespace);
      if (corrected) {
        warnings.push(`${setting.origin}: ${key}: no plugin "${resolution.namespace}" is registered; did you mean ${corrected}?`);
      }
    }
  }
  return { problems, warnings, invalidKeys };
}
