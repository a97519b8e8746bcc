/**
 * The connector registry: connectors register a factory under the name users write in
 * `connector`; the core asks for one by that name and gets "unknown connector X" otherwise.
 */
import { UnknownPluginError } from '../errors.js';
import type { ConnectorContext, Connector, ConnectorFactory } from '../inter/connector.js';

const factories = new Map<string, ConnectorFactory>();

/** Registers a connector factory under `name`; registering the same name twice is a programming error. */
export function registerConnector(name: string, factory: ConnectorFactory): void {
  if (factories.has(name)) throw new Error(`connector ${JSON.stringify(name)} is already registered`);
  factories.set(name, factory);
}

/** The registered connector names, sorted. */
export function connectorNames(): string[] {
  return [...factories.keys()].sort();
}

/** Builds the connector named `name`; throws UnknownPluginError naming the known ones otherwise. */
export function createConnector(name: string, context: ConnectorContext): Connector {
  const factory = factories.get(name);
  if (!factory) throw new UnknownPluginError('connector', name, connectorNames());
  return factory(context);
}
