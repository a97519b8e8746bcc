/**
 * Registration: every `registerinterval` seconds (after a random splay of up to one interval
 * when `registration_splay` is set) the daemon sends an ordinary request to agent
 * `registration` in `registration_collective`, filtered to agent=registration, with the
 * daemon's `ttl`, signed by the security provider in role server. Bodies:
 * `agentlist` -> the hosted agent names (MCollective's format);
 * `facts` -> `{agentlist, facts, classes, collectives}`.
 * A failed publish is logged and counted (`registration.failed`), never silently dropped.
 */
import { randomBytes } from 'node:crypto';
import type { Connector } from '../inter/connector.js';
import type { Counters, Logger } from '../inter/logger.js';
import type { SecurityProvider } from '../inter/security.js';

/** Registration body formats: `agentlist` (agent names, MCollective's default) or `facts` (also facts, classes, collectives). */
export type RegistrationKind = 'agentlist' | 'facts';

/** What the publisher needs. */
export interface RegistrationPublisherOptions {
  identity: string;
  collective: string;
  collectives: readonly string[];
  kind: RegistrationKind;
  /** Seconds between registrations (> 0). */
  interval: number;
  splay: boolean;
  ttl: number;
  provider: SecurityProvider;
  connector: Connector;
  logger: Logger;
  counters: Counters;
  agents: () => string[];
  facts: () => Record<string, string>;
  classes: () => readonly string[];
  /** For tests: a random number in [0, 1). */
  random?: () => number;
}

/** The registration body for `kind`. */
export function registrationBody(kind: RegistrationKind, options: Pick<RegistrationPublisherOptions, 'agents' | 'facts' | 'classes' | 'collectives'>): unknown {
  if (kind === 'agentlist') return options.agents();
  return { agentlist: options.agents(), facts: options.facts(), classes: [...options.classes()], collectives: [...options.collectives] };
}

/** Sends registration requests on a timer. */
export class RegistrationPublisher {
  private timer: NodeJS.Timeout | undefined;
  private running = false;

  constructor(private readonly options: RegistrationPublisherOptions) {}

  /** Starts the timer: the first registration goes out after the splay (immediately without one). */
  start(): void {
    if (this.running) return;
    this.running = true;
    const splay = this.options.splay ? (this.options.random ?? Math.random)() * this.options.interval : 0;
    this.options.logger.info({ interval: this.options.interval, splay: Math.round(splay), collective: this.options.collective }, 'registration enabled');
    this.schedule(splay * 1000);
  }

  private schedule(delayMs: number): void {
    this.timer = setTimeout(() => {
      void this.publishOnce().finally(() => {
        if (this.running) this.schedule(this.options.interval * 1000);
      });
    }, delayMs);
    this.timer.unref();
  }

  /** Stops the timer; a registration already being published completes. */
  stop(): void {
    this.running = false;
    clearTimeout(this.timer);
  }

  /** Builds, signs and publishes one registration; resolves true when the connector accepted it. */
  async publishOnce(): Promise<boolean> {
    const { identity, collective, ttl, provider, connector, logger, counters } = this.options;
    const requestid = randomBytes(16).toString('hex');
    try {
      const body = provider.encodeRequest({
        requestid,
        senderid: identity,
        agent: 'registration',
        collective,
        filter: { fact: [], cf_class: [], agent: ['registration'], identity: [], compound: [] },
        ttl,
        body: registrationBody(this.options.kind, this.options),
      });
      await connector.publishRequest({ collective, agent: 'registration', body, ttl });
      counters.increment('registration.sent');
      logger.debug({ requestid, collective }, 'registration sent');
      return true;
    } catch (error) {
      counters.increment('registration.failed');
      logger.error({ err: error, requestid, collective }, `registration could not be sent: ${(error as Error).message}`);
      return false;
    }
  }
}
