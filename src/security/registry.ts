/**
 * The security provider registry: providers register a factory under the name users write in
 * `securityprovider`; the core asks for one by that name and gets "unknown security provider X" otherwise.
 */
import { UnknownPluginError } from '../errors.js';
import type { SecurityContext, SecurityProvider, SecurityProviderFactory } from '../inter/security.js';

const factories = new Map<string, SecurityProviderFactory>();

/** Registers a provider factory under `name`; registering the same name twice is a programming error. */
export function registerSecurityProvider(name: string, factory: SecurityProviderFactory): void {
  if (factories.has(name)) throw new Error(`security provider ${JSON.stringify(name)} is already registered`);
  factories.set(name, factory);
}

/** The registered provider names, sorted. */
export function securityProviderNames(): string[] {
  return [...factories.keys()].sort();
}

/** Builds the provider named `name`; throws UnknownPluginError naming the known ones otherwise. */
export function createSecurityProvider(name: string, context: SecurityContext): SecurityProvider {
  const factory = factories.get(name);
  if (!factory) throw new UnknownPluginError('security provider', name, securityProviderNames());
  return factory(context);
}
