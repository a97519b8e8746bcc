/**
 * The daemon's registration wiring: when `registerinterval` > 0, a RegistrationPublisher that sends this
 * node's registration (hosted agents, and with `registration = facts` its facts, classes and collectives)
 * signed by the daemon's provider over the daemon's connector, waits for acknowledgements on a reply
 * subscription of its own, and registers again as soon as the connector reports the connection back.
 */
import type { Connector } from '../inter/connector.js';
import type { Counters, Logger } from '../inter/logger.js';
import type { SecurityProvider } from '../inter/security.js';
import { RegistrationPublisher } from '../registration/publisher.js';
import type { LogLimiter } from '../util/log-limiter.js';
import type { DaemonSettings } from './settings.js';

/** What the publisher reads from the running daemon. */
export interface RegistrationSources {
  provider: SecurityProvider;
  connector: Connector;
  logger: Logger;
  counters: Counters;
  limiter: LogLimiter;
  agents: () => string[];
  facts: () => Record<string, string>;
  classes: () => readonly string[];
}

/** The publisher `settings` ask for, or undefined when registration is off (`registerinterval = 0`). */
export function registrationPublisher(settings: DaemonSettings, sources: RegistrationSources): RegistrationPublisher | undefined {
  if (settings.registerInterval <= 0) return undefined;
  return new RegistrationPublisher({
    identity: settings.identity,
    collective: settings.registrationCollective,
    collectives: settings.collectives,
    kind: settings.registration,
    interval: settings.registerInterval,
    splay: settings.registrationSplay,
    ttl: settings.ttl,
    provider: sources.provider,
    connector: sources.connector,
    logger: sources.logger.child({ component: 'registration' }),
    counters: sources.counters,
    limiter: sources.limiter,
    agents: sources.agents,
    facts: sources.facts,
    classes: sources.classes,
  });
}
